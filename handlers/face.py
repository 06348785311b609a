"""Face verification (刷脸): start one with the citizen's channel, confirm it server-side, look at it."""

from __future__ import annotations

from typing import Annotated

import msgspec

from handlers.base import BaseHandler, citizen_required
from handlers.contract import Answer, Body, Timestamp, declare
from models import face


# ---- the contract ---------------------------------------------------------------------------------
class FaceVerificationStart(Body):
    """What to verify for: `service_application` (with `service_code`) or `rebind_realname` (with the
    `name` and `id_number` to bind); through which channel and mini-program."""

    purpose: Annotated[str, msgspec.Meta(description="service_application or rebind_realname")]
    channel: Annotated[str, msgspec.Meta(description="wechat or alipay")]
    app_id: Annotated[str, msgspec.Meta(description="the mini-program the citizen uses (its face call runs there)")]
    service_code: Annotated[str | None, msgspec.Meta(description="purpose service_application: the item")] = None
    name: Annotated[str | None, msgspec.Meta(description="purpose rebind_realname: the name to bind")] = None
    id_number: Annotated[str | None, msgspec.Meta(description="purpose rebind_realname: the ID number to bind")] = None


class FaceClientCall(Answer):
    """What the mini-program calls next, with these parameters."""

    call: Annotated[str, msgspec.Meta(description="wx.requestFacialVerify or my.startAPVerify")]
    params: Annotated[dict[str, str], msgspec.Meta(description="{verifyId} (WeChat) or {certifyId, url} (Alipay)")]


class FaceVerificationView(Answer):
    """A face verification: its purpose, channel and state; never the person's name, number or face."""

    id: str
    purpose: str
    service_code: str | None
    channel: str
    app_id: str
    status: Annotated[str, msgspec.Meta(description="pending, verified, failed or consumed")]
    result_code: Annotated[str | None, msgspec.Meta(description="the vendor's: WeChat verify_ret, Alipay passed")]
    within_minutes: int | None
    created_at: Timestamp
    verified_at: Timestamp | None
    valid_until: Timestamp | None
    consumed_at: Timestamp | None
    client: FaceClientCall | None = None


CHANNEL_ERRORS = {502: "The channel answered with an error", 503: "The channel is unavailable (see Retry-After)"}


class FaceVerificationsHandler(BaseHandler):
    """Start a face verification with the citizen's channel."""

    @citizen_required
    @declare(body=FaceVerificationStart, answer=FaceVerificationView, status=201,
             errors={409: "No real name bound, no login in this WeChat app, or the item needs no face verification",
                     429: "Too many face verifications", **CHANNEL_ERRORS},
             example={"purpose": "service_application", "service_code": "RS-0004", "channel": "wechat",
                      "app_id": "wxdemo0000000001"})
    async def post(self) -> None:
        """Start a verification; the answer's `client` is what the mini-program's face call takes."""
        assert self.principal is not None
        self.write_json(await face.start(self.ctx, self.principal.subject_id, self.json_body()), 201)


class FaceVerificationHandler(BaseHandler):
    """One of my face verifications."""

    path_params = ("verification_id",)

    @citizen_required
    @declare(answer=FaceVerificationView)
    async def get(self, verification_id: str) -> None:
        """A face verification of mine and its state."""
        assert self.principal is not None
        self.write_json(await face.get(self.ctx, self.principal.subject_id, verification_id))


class FaceVerificationConfirmHandler(BaseHandler):
    """Confirm a face verification: the server asks the channel how the face check ended."""

    path_params = ("verification_id",)

    @citizen_required
    @declare(answer=FaceVerificationView,
             errors={404: "No such face verification of mine",
                     409: "Not done yet (face_verification_pending), did not pass (face_verification_failed), or the "
                          "real name changed since the start", **CHANNEL_ERRORS})
    async def post(self, verification_id: str) -> None:
        """Confirm after the face call: verified once the channel says so (the client's word is not taken)."""
        assert self.principal is not None
        self.write_json(await face.confirm(self.ctx, self.principal.subject_id, verification_id))


routes = [
    (r"/api/v1/me/face-verifications", FaceVerificationsHandler),
    (r"/api/v1/me/face-verifications/([^/]+)", FaceVerificationHandler),
    (r"/api/v1/me/face-verifications/([^/]+)/confirm", FaceVerificationConfirmHandler),
]
