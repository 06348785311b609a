"""Citizens' e-licences: the wallet, who looked at a licence, consent receipts (list, withdraw), and the
public verification of a licence's QR payload (no login)."""

from __future__ import annotations

from handlers.base import BaseHandler, citizen_required
from handlers.contract import Answer, Day, Page, PageQuery, Query, Timestamp, declare
from models import licences, ratelimit
from models.applications import licensed

VERIFICATIONS_PER_IP_PER_MINUTE = 60


# ---- the contract ---------------------------------------------------------------------------------
class WalletLicence(Answer):
    """One licence in its holder's wallet: holder masked, state today, and the QR payload to show."""

    licence_id: str
    type: str
    type_name: str
    number: str
    holder_name: str
    holder_id_number: str
    issuing_department: str
    valid_from: Day
    valid_until: Day | None
    state: str
    state_label: str
    revoked_reason: str | None
    source_application_no: str | None
    issued_at: Timestamp | None
    qr_payload: str


class LicenceAccess(Answer):
    """One access to a licence: when, what, who (masked) of which department, for which application."""

    at: Timestamp
    action: str
    operator: str
    department: str
    department_name: str
    application_no: str | None


class ConsentReceipt(Answer):
    """A consent: which licence, for which material of which application, seen by which department, for what."""

    consent_id: str
    application_no: str
    material: str
    material_name: str
    licence_id: str
    licence_type: str
    licence_type_name: str
    licence_number: str
    recipient_department: str
    recipient_department_name: str
    purpose: str
    service_code: str | None
    status: str
    given_at: Timestamp | None
    withdrawn_at: Timestamp | None


class VerifyQuery(Query):
    payload: str


class LicenceVerification(Answer):
    """What a QR payload proves: `state` (valid, expired, revoked, not_yet_valid, invalid) and, unless
    invalid, the masked holder, the type and the dates; nothing else."""

    state: str
    state_label: str
    type: str | None = None
    type_name: str | None = None
    holder_name: str | None = None
    issuing_department: str | None = None
    valid_from: Day | None = None
    valid_until: Day | None = None


class LicenceKey(Answer):
    kid: str
    alg: str
    public_key: str
    created_at: Timestamp | None
    current: bool


class LicenceKeys(Answer):
    """The public keys licences are signed with (base64url raw Ed25519), the current one first."""

    items: list[LicenceKey]


class LicenceTypeView(Answer):
    code: str
    name: str
    department: str
    region_code: str
    validity_days: int | None


class LicenceTypes(Answer):
    items: list[LicenceTypeView]


class CitizenLicenceHandler(BaseHandler):
    """Shared by the citizen licence routes."""

    async def holder_index(self) -> str | None:
        return await licensed.holder_index(self.ctx, self.principal.subject_id)


class WalletHandler(CitizenLicenceHandler):
    """My licence wallet (电子证照): every licence issued to my verified ID number, newest first."""

    @citizen_required
    @declare(query=PageQuery, answer=Page[WalletLicence])
    async def get(self) -> None:
        """My licences with their state today and QR payloads (empty until my real name is bound)."""
        self.write_json(await licences.store.wallet(self.ctx, await self.holder_index(), self.query.page,
                                                    self.query.page_size, self.locale_code))


class LicenceAccessesHandler(CitizenLicenceHandler):
    """Who looked at my licence (谁查看了我的证照): operator (masked), department, when, which application."""

    path_params = ("licence_id",)

    @citizen_required
    @declare(query=PageQuery, answer=Page[LicenceAccess])
    async def get(self, licence_id: str) -> None:
        """The access log of one of my licences, newest first."""
        licence = await licences.store.held(self.ctx, await self.holder_index(), licence_id)
        self.write_json(await licences.consent.accesses(self.ctx, licence["_id"], self.query.page,
                                                        self.query.page_size, self.locale_code))


class ConsentsHandler(BaseHandler):
    """My consent receipts: which licence I let which department see, for what."""

    @citizen_required
    @declare(query=PageQuery, answer=Page[ConsentReceipt])
    async def get(self) -> None:
        """My consent receipts, newest first."""
        self.write_json(await licences.consent.list_for_citizen(self.ctx, self.principal.subject_id, self.query.page,
                                                                self.query.page_size, self.locale_code))


class ConsentWithdrawHandler(BaseHandler):
    """Withdraw a consent while its application is a draft or not yet accepted."""

    path_params = ("consent_id",)

    @citizen_required
    @declare(answer=ConsentReceipt, errors={409: "The application was accepted already, or the consent was withdrawn"})
    async def post(self, consent_id: str) -> None:
        """Withdraw the consent; the application no longer gives that material (409 consent_locked once accepted)."""
        self.write_json(await licensed.withdraw_consent(self.ctx, self.principal.subject_id, consent_id,
                                                        self.locale_code))


class VerifyHandler(BaseHandler):
    """Check a licence's QR payload, without login: validity and the masked holder only."""

    @declare(query=VerifyQuery, answer=LicenceVerification, errors={429: "Too many verifications"})
    async def get(self) -> None:
        """Verify the signature, then the licence's state today; a tampered payload is `invalid`."""
        await ratelimit.enforce(self.ctx.redis, f"licence-verify:{self.request.remote_ip}",
                                VERIFICATIONS_PER_IP_PER_MINUTE, 60)
        self.write_json(await licences.store.verify_payload(self.ctx, self.query.payload, self.locale_code))


class PublicKeysHandler(BaseHandler):
    """The public keys licence signatures verify with, for verifiers offline (no login)."""

    @declare(answer=LicenceKeys)
    async def get(self) -> None:
        self.write_json({"items": await licences.signing.public_keys(self.ctx)})


class LicenceTypesHandler(BaseHandler):
    """The licence types (电子证照类型) and their issuing departments (no login)."""

    @declare(answer=LicenceTypes)
    async def get(self) -> None:
        found = await licences.types.all_types(self.ctx.db)
        self.write_json({"items": [licences.types.type_view(t, self.locale_code) for t in found.values()]})


routes = [
    (r"/api/v1/me/licences", WalletHandler),
    (r"/api/v1/me/licences/([^/]+)/accesses", LicenceAccessesHandler),
    (r"/api/v1/me/consents", ConsentsHandler),
    (r"/api/v1/me/consents/([^/]+)/withdraw", ConsentWithdrawHandler),
    (r"/api/v1/licences/verify", VerifyHandler),
    (r"/api/v1/licences/keys", PublicKeysHandler),
    (r"/api/v1/licences/types", LicenceTypesHandler),
]
