"""Alipay identity certification (支付宝身份认证, alipay.user.certify.open.*): the FaceVerifier for Alipay.

Three gateway methods, RSA2-signed both ways like every call of integrations.alipay:

- `alipay.user.certify.open.initialize` {outer_order_no, biz_code: FACE, identity_param
  {identity_type: CERT_INFO, cert_type: IDENTITY_CARD, cert_name, cert_no}, merchant_config
  {return_url}} → {code 10000, certify_id} (a certify_id is good for 23 hours).
- `alipay.user.certify.open.certify` {certify_id}: not called by the server: its signed GET URL on
  the gateway is what the mini-program opens (`my.startAPVerify({url, certifyId})`).
- `alipay.user.certify.open.query` {certify_id} → {code 10000, passed "T" | "F"} ("F" also while
  the citizen has not finished); unknown ids fail with sub_code OPEN_CERTIFY_BILL_NOT_EXIST.
  The answer may carry `material_info` (the face photo when configured): it is never read or kept.
"""

from __future__ import annotations

import logging
import urllib.parse

from integrations.alipay import (
    AlipayClient,
    AlipayError,
    AlipayResponseUnverified,
    AlipayTransportError,
    failure_of,
)
from models.ports import Channel, ChannelCallFailed, FaceResult, FaceSession, FaceSubject, Failure, Services

log = logging.getLogger("citygate.alipay")

INITIALIZE = "alipay.user.certify.open.initialize"
CERTIFY = "alipay.user.certify.open.certify"
QUERY = "alipay.user.certify.open.query"
CERTIFY_ID_SECONDS = 23 * 3600
GATEWAY_ERRORS = (AlipayError, AlipayTransportError, AlipayResponseUnverified)


class AlipayFaceVerifier:
    """Identity certification through one Alipay mini-program channel at a time."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def _client(self, channel: Channel) -> AlipayClient:
        return AlipayClient(channel, self.services.http, now=self.services.clock())

    async def start(self, channel: Channel, subject: FaceSubject, out_seq_no: str) -> FaceSession:
        biz = {"outer_order_no": out_seq_no, "biz_code": "FACE",
               "identity_param": {"identity_type": "CERT_INFO", "cert_type": "IDENTITY_CARD",
                                  "cert_name": subject.name, "cert_no": subject.id_number},
               "merchant_config": {"return_url": ""}}
        client = self._client(channel)
        try:
            node = await client.call(INITIALIZE, biz)
        except GATEWAY_ERRORS as exc:
            log.warning("alipay certify initialize failed for app %s: %s", channel.app_id, exc)
            raise failure_of(exc) from None
        certify_id = node.get("certify_id")
        if not isinstance(certify_id, str) or not certify_id:
            raise ChannelCallFailed(Failure.INCOMPLETE, "initialize lacks certify_id")
        params = client.signed_request_params(CERTIFY, {"certify_id": certify_id})
        url = channel.api_base_url + "?" + urllib.parse.urlencode(params)
        return FaceSession(certify_id, {"certifyId": certify_id, "url": url}, CERTIFY_ID_SECONDS)

    async def query(self, channel: Channel, subject: FaceSubject, out_seq_no: str, vendor_id: str) -> FaceResult:
        try:
            node = await self._client(channel).call(QUERY, {"certify_id": vendor_id})
        except GATEWAY_ERRORS as exc:
            log.warning("alipay certify query failed for app %s: %s", channel.app_id, exc)
            raise failure_of(exc) from None
        passed = node.get("passed")
        if passed not in ("T", "F"):
            raise ChannelCallFailed(Failure.INCOMPLETE, "query lacks passed")
        return FaceResult(passed == "T", passed)
