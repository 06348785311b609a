"""Every /admin/v1 route declares what it needs, and the declaration holds for every role.

The walk reads the route table: a route added later without a declaration fails here. Each declared
method is then called over HTTP by an operator of each role, and by nobody: a role whose permissions
(models.access) lack the declared one gets 403 `operator_forbidden`, the others get past the guard
(whatever the dummy ids then earn them). Scope within a permission is tested per collection
(tests/test_console_scope.py and the features' own tests).
"""

from __future__ import annotations

import re

import pytest
import tornado.web

from models import access
from server.app import route_table

PUBLIC = {"/admin/v1/auth/login"}
METHODS = ("get", "post", "put", "patch", "delete")


def operator_methods() -> list[tuple[str, str, object]]:
    """(pattern, HTTP method, handler function) of every method the /admin/v1 routes implement."""
    found = []
    for pattern, handler in route_table(sandbox=False):
        if not pattern.startswith("/admin/v1") or pattern in PUBLIC:
            continue
        for name in METHODS:
            function = getattr(handler, name)
            if function is not getattr(tornado.web.RequestHandler, name):
                found.append((pattern, name.upper(), function))
    return found


def test_every_operator_route_declares_its_permission() -> None:
    methods = operator_methods()
    assert len(methods) > 30  # the walk sees the console, not an empty table
    undeclared = [f"{method} {pattern}" for pattern, method, function in methods
                  if getattr(function, "permission", None) not in access.PERMISSIONS]
    assert not undeclared, ("operator routes without @requires(permission) (an operator's own account: "
                            "@requires(access.OWN_ACCOUNT)): " + ", ".join(undeclared))


def test_every_permission_is_granted_by_some_role_and_used() -> None:
    declared = {function.permission for _, _, function in operator_methods()}
    assert declared <= access.PERMISSIONS
    assert all(any(access.permits([role], p) for role in access.ROLES) for p in access.PERMISSIONS)


def _path(pattern: str) -> str:
    return re.sub(r"\([^()]*\)", "x-unknown", pattern).rstrip("$")


@pytest.mark.parametrize("role", sorted(access.ROLES))
async def test_each_role_passes_exactly_the_guards_its_permissions_open(app, fetch, make_operator, role) -> None:
    token = await make_operator(f"walk-{role}", [role])
    refused, wrongly = [], []
    # Their own account last: logging out or changing the password there ends the walk's session.
    for pattern, method, function in sorted(operator_methods(), key=lambda m: m[2].permission == access.OWN_ACCOUNT):
        body = b"{}" if method in ("POST", "PUT", "PATCH") else None
        headers = {"Content-Type": "application/json"}
        response = await fetch(method, _path(pattern), token=token, body=body, headers=headers)
        forbidden = response.status == 403 and response.json().get("code") == "operator_forbidden"
        allowed = access.permits([role], function.permission)
        assert response.status < 500, f"{method} {pattern}: {response.status} {response.text[:200]}"
        if allowed and forbidden:
            wrongly.append(f"{method} {pattern}")
        if not allowed and not forbidden:
            refused.append(f"{method} {pattern} ({response.status})")
    assert not wrongly, f"{role} refused where its permissions allow: {wrongly}"
    assert not refused, f"{role} got past guards its permissions do not open: {refused}"


async def test_nobody_and_citizens_are_turned_away_everywhere(app, fetch, citizen) -> None:
    for pattern, method, _ in operator_methods():
        for token in (None, citizen[1]):
            body = b"{}" if method in ("POST", "PUT", "PATCH") else None
            response = await fetch(method, _path(pattern), token=token, body=body)
            assert response.status == 401, f"{method} {pattern} answered {response.status} to {token and 'a citizen'}"


async def test_an_operator_without_roles_is_refused_everywhere_but_their_own_account(app, fetch, make_operator) -> None:
    token = await make_operator("no-roles-at-all", [])
    for pattern, method, function in operator_methods():
        if function.permission == access.OWN_ACCOUNT:
            continue
        body = b"{}" if method in ("POST", "PUT", "PATCH") else None
        response = await fetch(method, _path(pattern), token=token, body=body)
        assert response.status == 403, f"{method} {pattern} answered {response.status}"
