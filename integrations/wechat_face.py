"""WeChat city-service face verification (微信城市服务人脸核身): the domain's FaceVerifier for WeChat.

Server API (https://developers.weixin.qq.com/miniprogram/dev/server/API/face/), both POST JSON with
the app's access_token (the token mechanism of integrations.wechat, shared with every WeChat call):

- `cityservice/face/identify/getverifyid` {out_seq_no, cert_info {cert_type: IDENTITY_CARD,
  cert_name, cert_no}, openid} → {errcode, errmsg, verify_id, expires_in (default 3600 s)}; the
  mini-program then calls `wx.requestFacialVerify({verifyId})` as the same user in the same app.
- `cityservice/face/identify/queryverifyinfo` {verify_id, out_seq_no, cert_hash, openid} →
  {errcode, errmsg, verify_ret}; `verify_ret` 10000 is success, 10001-10xxx the comparison's
  refusals, 9xxxx the client's failures (cancelled, no camera...). An answer without `verify_ret`
  means no result yet.

`cert_hash` binds the query to the person the session was opened for: base64 of SHA-256 over
`cert_type=IDENTITY_CARD&cert_name=<name>&cert_no=<number>` (UTF-8), so the number itself is sent
only once, at the start.
"""

from __future__ import annotations

import base64
import hashlib
import logging

from wechatpy.exceptions import WeChatClientException

from integrations.wechat import WeChatMiniProgram, WeChatTransportError, failure_of
from models.ports import Channel, ChannelCallFailed, FaceResult, FaceSession, FaceSubject, Failure, Services

log = logging.getLogger("citygate.wechat")

GET_VERIFY_ID = "cityservice/face/identify/getverifyid"
QUERY_VERIFY_INFO = "cityservice/face/identify/queryverifyinfo"
CERT_TYPE = "IDENTITY_CARD"
SUCCESS = 10000


def cert_hash(name: str, id_number: str, cert_type: str = CERT_TYPE) -> str:
    """The queryverifyinfo `cert_hash` of a person's certificate."""
    text = f"cert_type={cert_type}&cert_name={name}&cert_no={id_number}"
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


class WeChatFaceVerifier:
    """getVerifyId / queryVerifyInfo for one WeChat mini-program channel at a time."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def start(self, channel: Channel, subject: FaceSubject, out_seq_no: str) -> FaceSession:
        if not subject.openid:
            raise ChannelCallFailed(Failure.INCOMPLETE, "no openid in this app")
        body = {"out_seq_no": out_seq_no, "openid": subject.openid,
                "cert_info": {"cert_type": CERT_TYPE, "cert_name": subject.name, "cert_no": subject.id_number}}
        try:
            result = await WeChatMiniProgram(self.services, channel).post_with_token(GET_VERIFY_ID, body)
        except (WeChatClientException, WeChatTransportError) as exc:
            log.warning("wechat getVerifyId failed for app %s: %s", channel.app_id, _describe(exc))
            raise failure_of(exc) from None
        verify_id = result.get("verify_id")
        if not isinstance(verify_id, str) or not verify_id:
            raise ChannelCallFailed(Failure.INCOMPLETE, "getVerifyId lacks verify_id")
        expires_in = result.get("expires_in")
        return FaceSession(verify_id, {"verifyId": verify_id},
                           expires_in if isinstance(expires_in, int) and expires_in > 0 else 3600)

    async def query(self, channel: Channel, subject: FaceSubject, out_seq_no: str, vendor_id: str) -> FaceResult:
        body = {"verify_id": vendor_id, "out_seq_no": out_seq_no, "openid": subject.openid or "",
                "cert_hash": cert_hash(subject.name, subject.id_number)}
        try:
            result = await WeChatMiniProgram(self.services, channel).post_with_token(QUERY_VERIFY_INFO, body)
        except (WeChatClientException, WeChatTransportError) as exc:
            log.warning("wechat queryVerifyInfo failed for app %s: %s", channel.app_id, _describe(exc))
            raise failure_of(exc) from None
        verify_ret = result.get("verify_ret")
        if verify_ret is None:
            return FaceResult(False, "", pending=True)
        return FaceResult(verify_ret == SUCCESS, str(verify_ret))


def _describe(exc: Exception) -> str:
    """For logs: the errcode only (errmsg may echo request data)."""
    return f"errcode {exc.errcode}" if isinstance(exc, WeChatClientException) else type(exc).__name__
