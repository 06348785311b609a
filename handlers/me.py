"""The logged-in citizen: profile, phone and real-name binding, linking accounts; operator revocation."""

from __future__ import annotations

from handlers.base import BaseHandler, citizen_required, requires
from models import access, citizens


class MeHandler(BaseHandler):
    """The citizen across all channels: linked identities, profile, masked phone and ID number."""

    @citizen_required
    async def get(self) -> None:
        """The logged-in citizen (phone and ID number masked)."""
        assert self.principal is not None
        self.write_json(citizens.public_view(await citizens.get_citizen(self.ctx, self.principal.subject_id)))

    @citizen_required
    async def patch(self) -> None:
        """Change profile fields: nickname, avatar_url, language."""
        assert self.principal is not None
        self.write_json(await citizens.update_profile(self.ctx, self.principal.subject_id, self.json_body()))


class PhoneHandler(BaseHandler):
    """Bind a verified phone: {code} from getPhoneNumber, or the older {encrypted_data, iv}."""

    @citizen_required
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
    async def post(self) -> None:
        body = self.json_body()
        assert self.principal is not None
        self.write_json(await citizens.bind_realname(self.ctx, self.principal.subject_id, body.get("name"),
                                                     body.get("id_number")))


class LinkHandler(BaseHandler):
    """Link another account to this one, proven by its fresh login: {channel, app_id, code | auth_code}."""

    @citizen_required
    async def post(self) -> None:
        assert self.principal is not None
        self.write_json(await citizens.link_with_proof(self.ctx, self.principal.subject_id, self.json_body(),
                                                       self.request.remote_ip or ""))


class RevokeCitizenSessionsHandler(BaseHandler):
    """Operators: log a citizen out on every device at once."""

    path_params = ("citizen_id",)

    @requires(access.CITIZENS_MANAGE)
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
