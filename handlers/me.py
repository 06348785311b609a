"""The logged-in citizen: profile, phone and real-name binding, linking accounts; operator revocation."""

from __future__ import annotations

from typing import Annotated

import msgspec

from handlers.base import BaseHandler, citizen_required, requires
from handlers.contract import Answer, Body, Timestamp, declare
from models import access, citizens


# ---- the contract ---------------------------------------------------------------------------------
class CitizenProfile(Answer):
    nickname: str | None = None
    avatar_url: str | None = None
    language: str | None = None


class LinkedIdentity(Answer):
    kind: Annotated[str, msgspec.Meta(description="wechat_openid, wechat_unionid, alipay_user_id or alipay_open_id")]
    app_id: str | None
    linked_at: Timestamp | None


class RealNameView(Answer):
    name: str
    id_number: Annotated[str, msgspec.Meta(description="masked, e.g. 110***********002X")]
    verified_at: Timestamp | None


class LastChannel(Answer):
    kind: str | None
    app_id: str | None


class CitizenView(Answer):
    """The citizen as their own apps see them: linked channels, profile, phone and ID number masked."""

    id: str
    profile: CitizenProfile
    identities: list[LinkedIdentity]
    phone: Annotated[str | None, msgspec.Meta(description="masked, e.g. 138****1234")]
    phone_verified_at: Timestamp | None
    realname: RealNameView | None
    last_channel: LastChannel | None
    created_at: Timestamp | None


class ProfileChanges(Body):
    """Profile fields to change; null clears one. Other fields are refused by name (`unknown_field`)."""

    nickname: Annotated[str | None, msgspec.Meta(description="1-32 characters")] = None
    avatar_url: Annotated[str | None, msgspec.Meta(description="an http(s) URL")] = None
    language: Annotated[str | None, msgspec.Meta(description="zh-CN or en")] = None


class PhoneBinding(Body):
    """The phone WeChat vouches for: `code` from getPhoneNumber, or the older `encrypted_data` with `iv`."""

    code: str | None = None
    encrypted_data: str | None = None
    iv: str | None = None
    app_id: Annotated[str | None, msgspec.Meta(
        description="the WeChat mini-program; defaults to the one the citizen last logged in through")] = None


class RealNameBinding(Body):
    name: Annotated[str, msgspec.Meta(description="2-30 Chinese characters or letters")]
    id_number: Annotated[str, msgspec.Meta(description="resident ID number (18 characters, GB 11643)")]
    face_verification_id: Annotated[str | None, msgspec.Meta(
        description="a verified face verification of this person (purpose rebind_realname): lets the binding replace "
                    "another one (this account's, or another account's holding the number)")] = None


class LinkProof(Body):
    """A fresh login of the other account: WeChat `code` or Alipay `auth_code`."""

    channel: Annotated[str, msgspec.Meta(description="wechat or alipay")]
    app_id: str | None = None
    code: Annotated[str | None, msgspec.Meta(description="from wx.login (channel wechat)")] = None
    auth_code: Annotated[str | None, msgspec.Meta(description="from my.getAuthCode (channel alipay)")] = None


class LinkOutcome(Answer):
    status: Annotated[str, msgspec.Meta(description="linked, already_linked or merged")]
    citizen: CitizenView


class CitizenSessionsRevoked(Answer):
    citizen_id: str
    revoked_sessions: int
    revoked_access_tokens: int


CHANNEL_ERRORS = {502: "The channel answered with an error", 503: "The channel is unavailable (see Retry-After)"}


class MeHandler(BaseHandler):
    """The citizen across all channels: linked identities, profile, masked phone and ID number."""

    @citizen_required
    @declare(answer=CitizenView)
    async def get(self) -> None:
        """The logged-in citizen (phone and ID number masked)."""
        assert self.principal is not None
        self.write_json(citizens.public_view(await citizens.get_citizen(self.ctx, self.principal.subject_id)))

    @citizen_required
    @declare(body=ProfileChanges, answer=CitizenView, example={"nickname": "小张", "language": "en"})
    async def patch(self) -> None:
        """Change profile fields: nickname, avatar_url, language."""
        assert self.principal is not None
        self.write_json(await citizens.update_profile(self.ctx, self.principal.subject_id, self.json_body()))


class PhoneHandler(BaseHandler):
    """Bind a verified phone: {code} from getPhoneNumber, or the older {encrypted_data, iv}."""

    @citizen_required
    @declare(body=PhoneBinding, answer=CitizenView,
             errors={409: "The phone belongs to another citizen (link the accounts first), or no WeChat login to "
                          "decrypt with", **CHANNEL_ERRORS},
             example={"code": "e31968a7f94cc5ee25fafc2aef2773f0bb8c3937b22520eb8ee345274d00c144"})
    async def post(self) -> None:
        body = self.json_body()
        assert self.principal is not None
        if "encrypted_data" in body or "iv" in body:
            view = await citizens.bind_phone_with_encrypted_data(
                self.ctx, self.principal.subject_id, body.get("encrypted_data"), body.get("iv"), body.get("app_id"))
        else:
            view = await citizens.bind_phone_with_code(self.ctx, self.principal.subject_id, body.get("code"),
                                                       body.get("app_id"))
        self.write_json(view)


class RealNameHandler(BaseHandler):
    """Real-name binding: {name, id_number}; the number is validated, stored encrypted, shown masked."""

    @citizen_required
    @declare(body=RealNameBinding, answer=CitizenView,
             errors={403: "The face verification belongs to another citizen",
                     404: "No such face verification",
                     409: "Already bound to another ID number, or the number belongs to another citizen (without a "
                          "face verification), or the face verification cannot be used",
                     429: "Too many real-name attempts"},
             example={"name": "张三", "id_number": "11010519491231002X"})
    async def post(self) -> None:
        body = self.json_body()
        assert self.principal is not None
        self.write_json(await citizens.bind_realname(self.ctx, self.principal.subject_id, body.get("name"),
                                                     body.get("id_number"), body.get("face_verification_id")))


class LinkHandler(BaseHandler):
    """Link another account to this one, proven by its fresh login: {channel, app_id, code | auth_code}."""

    @citizen_required
    @declare(body=LinkProof, answer=LinkOutcome,
             errors={409: "The two accounts cannot be joined (different ID numbers) or changed meanwhile",
                     429: "Too many login attempts", **CHANNEL_ERRORS},
             example={"channel": "alipay", "app_id": "2021000000000001", "auth_code": "4b203fe6c11548bcabd8da5bb087a83b"})
    async def post(self) -> None:
        assert self.principal is not None
        self.write_json(await citizens.link_with_proof(self.ctx, self.principal.subject_id, self.json_body(),
                                                       self.request.remote_ip or ""))


class RevokeCitizenSessionsHandler(BaseHandler):
    """Operators: log a citizen out on every device at once."""

    path_params = ("citizen_id",)

    @requires(access.CITIZENS_MANAGE)
    @declare(answer=CitizenSessionsRevoked)
    async def post(self, citizen_id: str) -> None:
        assert self.principal is not None
        self.write_json(await citizens.revoke_sessions(self.ctx, citizen_id, self.principal.subject_id))


routes = [
    (r"/api/v1/me", MeHandler),
    (r"/api/v1/me/phone", PhoneHandler),
    (r"/api/v1/me/realname", RealNameHandler),
    (r"/api/v1/me/link", LinkHandler),
    (r"/admin/v1/citizens/([^/]+)/revoke-sessions", RevokeCitizenSessionsHandler),
]
