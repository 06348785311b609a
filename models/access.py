"""Who may do what in the console: roles grant permissions, scope limits where.

An operator holds one or more roles (`ROLES`); each role grants permissions (what kind of action), and
the operator's scope (a region code and, optionally, a department) limits which objects the action may
touch: a region covers itself and everything under it (330000 the province, 330100 one of its cities,
330105 a county of that city). Every `/admin/v1` handler method declares the one permission it needs
(`handlers.base.requires`); every list, read and write filters by `OperatorScope`.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from models.errors import Forbidden

# Permissions: what kind of action.
CATALOGUE_READ = "catalogue.read"
CATALOGUE_WRITE = "catalogue.write"
APPLICATIONS_READ = "applications.read"
APPLICATIONS_WORK = "applications.work"
CONSULTATIONS_READ = "consultations.read"
CONSULTATIONS_WORK = "consultations.work"
# The public Q&A library (问答库): reading the department's entries; publishing, editing, unpublishing.
# Scope: an entry is its items' department and region (`OperatorScope.require`), and publishing a
# consultation needs the consultation in scope (another department's is not found).
QA_READ = "qa.read"
QA_PUBLISH = "qa.publish"
PAYMENTS_READ = "payments.read"
PAYMENTS_REFUND = "payments.refund"
HALLS_READ = "halls.read"
HALLS_MANAGE = "halls.manage"
HALLS_QUEUE = "halls.queue"
CHANNELS_READ = "channels.read"
CHANNELS_MANAGE = "channels.manage"
SCORECARD_READ = "scorecard.read"
AUDIT_READ = "audit.read"
OPERATORS_READ = "operators.read"
OPERATORS_MANAGE = "operators.manage"
CITIZENS_MANAGE = "citizens.manage"
# E-licences (models.licences): list, import and revoke those of the department's licence types; the
# signing keys are the platform's.
LICENCES_READ = "licences.read"
LICENCES_MANAGE = "licences.manage"
LICENCE_KEYS_MANAGE = "licences.keys"
# Every logged-in operator, whatever their roles: their own password, sessions, second factor, logout.
OWN_ACCOUNT = "own_account"

PERMISSIONS = frozenset({
    CATALOGUE_READ, CATALOGUE_WRITE, APPLICATIONS_READ, APPLICATIONS_WORK, CONSULTATIONS_READ,
    CONSULTATIONS_WORK, PAYMENTS_READ, PAYMENTS_REFUND, HALLS_READ, HALLS_MANAGE, HALLS_QUEUE,
    CHANNELS_READ, CHANNELS_MANAGE, SCORECARD_READ, AUDIT_READ, OPERATORS_READ, OPERATORS_MANAGE,
    CITIZENS_MANAGE, OWN_ACCOUNT, QA_READ, QA_PUBLISH, LICENCES_READ, LICENCES_MANAGE, LICENCE_KEYS_MANAGE,
})
READ_PERMISSIONS = frozenset(p for p in PERMISSIONS if p.endswith(".read"))

# Roles (API.md): what each grants.
PLATFORM_ADMIN = "platform_admin"
REGION_ADMIN = "region_admin"
DEPARTMENT_OPERATOR = "department_operator"
FINANCE = "finance"
HALL_STAFF = "hall_staff"
CHANNEL_MANAGER = "channel_manager"
AUDITOR = "auditor"

ROLES: dict[str, frozenset[str]] = {
    PLATFORM_ADMIN: PERMISSIONS,
    # Everything within their region except the platform-wide entrances (channels, merchants) and citizens.
    REGION_ADMIN: PERMISSIONS - {CHANNELS_MANAGE, CITIZENS_MANAGE, LICENCE_KEYS_MANAGE},
    DEPARTMENT_OPERATOR: frozenset({CATALOGUE_READ, CATALOGUE_WRITE, APPLICATIONS_READ, APPLICATIONS_WORK,
                                    CONSULTATIONS_READ, CONSULTATIONS_WORK, QA_READ, QA_PUBLISH,
                                    LICENCES_READ, LICENCES_MANAGE}),
    FINANCE: frozenset({PAYMENTS_READ, PAYMENTS_REFUND, APPLICATIONS_READ}),
    HALL_STAFF: frozenset({HALLS_READ, HALLS_QUEUE}),  # windows and queues; halls are set up by a region admin
    CHANNEL_MANAGER: frozenset({CHANNELS_READ, CHANNELS_MANAGE}),
    AUDITOR: READ_PERMISSIONS,
}

# Roles only a platform administrator may grant: they act beyond any one region.
PLATFORM_ROLES = frozenset({PLATFORM_ADMIN, CHANNEL_MANAGER})


def permits(roles: tuple[str, ...] | list[str], permission: str) -> bool:
    """Whether any of `roles` grants `permission` (OWN_ACCOUNT: every operator)."""
    return permission == OWN_ACCOUNT or any(permission in ROLES.get(role, ()) for role in roles)


def unknown_roles(roles: list[str]) -> list[str]:
    return [role for role in roles if role not in ROLES]


def region_prefix(region_code: str) -> str:
    """The code prefix every region under `region_code` shares: 330000 → 33, 330100 → 3301, 330105 → 330105."""
    if re.fullmatch(r"[0-9]{6}", region_code or "") is None:
        return region_code or ""
    if region_code.endswith("0000"):
        return region_code[:2]
    if region_code.endswith("00"):
        return region_code[:4]
    return region_code


def region_covers(scope_region: str, region_code: str | None) -> bool:
    """Whether a scope of `scope_region` ("" = everywhere) covers an object of `region_code`."""
    if not scope_region:
        return True
    return bool(region_code) and str(region_code).startswith(region_prefix(scope_region))


_OUT_OF_SCOPE = ("out_of_scope", "该对象不在您的管辖范围内", "This object is outside your region or department")


@dataclasses.dataclass(frozen=True)
class OperatorScope:
    """The operator acting and where they may act: a department ("" = every department) within a
    region ("" = every region)."""

    operator_id: str
    department: str = ""
    name: str = ""
    region_code: str = ""

    def allows(self, department: str | None, region_code: str | None = None) -> bool:
        """Whether an object of `department` in `region_code` is within this scope."""
        if self.department and self.department != department:
            return False
        return region_covers(self.region_code, region_code)

    def require_region(self, region_code: str | None) -> None:
        """403 unless `region_code` lies within this scope's region (for objects of no one department: halls)."""
        if not region_covers(self.region_code, region_code):
            raise Forbidden(*_OUT_OF_SCOPE)

    def require(self, department: str | None, region_code: str | None = None) -> None:
        """Raise 403 out_of_scope unless the object is within this scope."""
        if not self.allows(department, region_code):
            raise Forbidden(*_OUT_OF_SCOPE)

    def department_filter(self, department: str | None = None) -> dict[str, Any]:
        """The query filter for what this operator may list: `department` when asked for (403 when
        it is not theirs), else their own department ({} for an operator of every department)."""
        if department:
            if self.department and self.department != department:
                raise Forbidden("department_forbidden", "无权查看其他部门的数据", "You may not see another department's data")
            return {"department": department}
        return {"department": self.department} if self.department else {}

    def filter(self, department: str | None = None, *, department_field: str | None = "department",
               region_field: str | None = "region_code") -> dict[str, Any]:
        """The query filter for a list: department (as `department_filter`) and region (a code prefix)."""
        query: dict[str, Any] = {}
        wanted = self.department_filter(department).get("department")
        if department_field and wanted:
            query[department_field] = wanted
        if region_field and self.region_code:
            query[region_field] = {"$regex": "^" + re.escape(region_prefix(self.region_code))}
        return query
