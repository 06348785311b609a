"""Operators and e-licences: the licences of their department's types, imports, revocation, signing
keys, and the licence an application gives for a material (logged for its holder)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from handlers.base import BaseHandler, requires
from handlers.contract import BY_DOMAIN, Answer, Body, Page, PageQuery, Timestamp, declare
from handlers.licences import LicenceKey, LicenceKeys
from models import access, licences
from models.applications import licensed


# ---- the contract ---------------------------------------------------------------------------------
class AdminLicencesQuery(PageQuery):
    type: str | None = None


class AdminLicence(Answer):
    """A licence as operators list it: holder masked, state today."""

    licence_id: str
    type: str
    type_name: str
    number: str
    holder_name: str
    holder_id_number: str
    issuing_department: str
    valid_from: str
    valid_until: str | None
    state: str
    state_label: str
    revoked_reason: str | None
    source_application_no: str | None
    issued_at: Timestamp | None


class ApplicationLicence(AdminLicence, kw_only=True):
    """The licence an application gives for a material, as its handling department sees it: the
    holder's name in full, the ID number masked, and whether the signature holds."""

    application_no: str
    material: str
    signature_valid: bool


class Revocation(Body):
    reason: Annotated[str, msgspec.Meta(max_length=licences.store.REASON_MAX), BY_DOMAIN]


class ImportRow(Body):
    type: str
    number: str
    holder_name: str
    holder_id_number: str
    valid_from: str
    valid_until: str | None = None


class LicenceImportBatch(Body):
    """Licences issued elsewhere: `rows` (JSON) or `csv` (text, header
    type,number,holder_name,holder_id_number,valid_from,valid_until; an empty valid_until is long-term)."""

    rows: Annotated[list[ImportRow], BY_DOMAIN] = msgspec.UNSET
    csv: Annotated[str, BY_DOMAIN] = msgspec.UNSET


class ImportProblem(Answer):
    """One bad row's field (`rows[3].holder_id_number`), its code and message."""

    field: str
    code: str
    message: str


class LicenceImport(Answer):
    """An import's progress (`processed` of `total`) and report: completed, or rejected with every bad row."""

    import_id: str
    status: str
    total: int
    processed: int
    imported: int
    errors: list[ImportProblem]
    created_at: Timestamp | None
    finished_at: Timestamp | None


class AdminLicencesHandler(BaseHandler):
    """Licences of the operator's department's types (every type for a platform operator), newest first."""

    @requires(access.LICENCES_READ)
    @declare(query=AdminLicencesQuery, answer=Page[AdminLicence])
    async def get(self) -> None:
        self.write_json(await licences.store.list_for_operators(self.ctx, self.scope, self.query.type or None,
                                                                self.query.page, self.query.page_size, self.locale_code))


class RevocationHandler(BaseHandler):
    """Revoke (注销) a licence with a reason {reason}: it no longer verifies as valid nor serves as a material."""

    path_params = ("licence_id",)

    @requires(access.LICENCES_MANAGE)
    @declare(body=Revocation, answer=AdminLicence, status=201, errors={409: "Revoked already"})
    async def post(self, licence_id: str) -> None:
        """Revoke the licence (403 for another department's); its holder sees the reason."""
        self.write_json(await licences.store.revoke(self.ctx, self.scope, licence_id, self.json_body().get("reason"),
                                                    self.locale_code), 201)


class ImportsHandler(BaseHandler):
    """Import licences issued elsewhere, all or nothing {rows | csv}."""

    @requires(access.LICENCES_MANAGE)
    @declare(body=LicenceImportBatch, answer=LicenceImport, status=201,
             errors={422: "A bad row (import_rejected, every bad row named) or a failure midway (import_failed): "
                          "nothing imported"},
             example={"csv": "type,number,holder_name,holder_id_number,valid_from,valid_until\n"
                             "no_criminal_record,WF-2026-0001,张三,11010519491231002X,2026-01-05,2026-07-03\n"})
    async def post(self) -> None:
        """Check every row, then insert all in one transaction; the report (GET .../imports/{id}) keeps the errors."""
        self.write_json(await licences.imports.run_import(self.ctx, self.scope, self.json_body(), self.locale_code), 201)


class ImportHandler(BaseHandler):
    """One import: its progress and report."""

    path_params = ("import_id",)

    @requires(access.LICENCES_MANAGE)
    @declare(answer=LicenceImport)
    async def get(self, import_id: str) -> None:
        self.write_json(await licences.imports.get_import(self.ctx, self.scope, import_id, self.locale_code))


class KeysHandler(BaseHandler):
    """The licence signing keys' public halves, the current one first."""

    @requires(access.LICENCES_READ)
    @declare(answer=LicenceKeys)
    async def get(self) -> None:
        self.write_json({"items": await licences.signing.public_keys(self.ctx)})


class KeyRotationsHandler(BaseHandler):
    """Rotate the licence signing key: a new key signs from now on; every older key still verifies."""

    @requires(access.LICENCE_KEYS_MANAGE)
    @declare(answer=LicenceKey, status=201)
    async def post(self) -> None:
        self.write_json(await licences.signing.rotate(self.ctx), 201)


class ApplicationLicenceHandler(BaseHandler):
    """The licence an application gives for a material (with the applicant's consent); the access is
    logged for the holder."""

    path_params = ("no", "material")

    @requires(access.APPLICATIONS_READ)
    @declare(answer=ApplicationLicence, errors={403: "The applicant withdrew the consent"})
    async def get(self, no: str, material: str) -> None:
        self.write_json(await licensed.licence_for_operator(self.ctx, self.scope, no, material, self.locale_code))


routes = [
    (r"/admin/v1/licences", AdminLicencesHandler),
    (r"/admin/v1/licences/imports", ImportsHandler),
    (r"/admin/v1/licences/imports/([^/]+)", ImportHandler),
    (r"/admin/v1/licences/keys", KeysHandler),
    (r"/admin/v1/licences/keys/rotations", KeyRotationsHandler),
    (r"/admin/v1/licences/([^/]+)/revocation", RevocationHandler),
    (r"/admin/v1/applications/([^/]+)/licences/([^/]+)", ApplicationLicenceHandler),
]
