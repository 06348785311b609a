"""Where features plug in: their handler modules, index builders, demo loaders and workers.

Each feature lists its module here once, and every listed module must exist: a name that does not
import stops the start-up with `MissingModule` naming it, because a route, an index or a worker that
silently went missing is found only when a citizen meets the gap. A listed module that lacks what
its list promises (`routes`, `ensure_indexes`, `load_demo`, a task's function) fails as loudly.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from types import ModuleType

# Handler modules, each ending with `routes = [(pattern, Handler), ...]`.
HANDLER_MODULES = [
    "handlers.health",
    "handlers.admin_auth",
    "handlers.auth",               # identity
    "handlers.me",
    "handlers.catalogue",          # catalogue
    "handlers.admin_catalogue",
    "handlers.files",              # applications
    "handlers.applications",
    "handlers.admin_applications",
    "handlers.payments",           # payments
    "handlers.notify",
    "handlers.admin_payments",
    "handlers.appointments",       # appointments
    "handlers.admin_halls",
    "handlers.qa_library",         # Q&A library, suggestions (before handlers.consultations: /suggest)
    "handlers.consultations",      # consultations, ratings, feedback
    "handlers.admin_consultations",
    "handlers.admin_console",      # console: scorecard, audit
    "handlers.admin_channels",     # channels (CRUD, check, rotations, exposure)
    "handlers.admin_operators",    # operator accounts, sessions, TOTP
    "handlers.licences",           # e-licences: wallet, consents, public verification
    "handlers.admin_licences",
    "handlers.face",               # face verification (刷脸)
    "handlers.h5_auth",            # H5 entrance: WeChat official-account and Alipay web login, JS-SDK
    "handlers.h5_pages",           # the phone-browser client at /m/
    "handlers.console_pages",      # the operator web console at /console/
]

# Sandbox channels, mounted under /sandbox in development only.
SANDBOX_MODULES = [
    "integrations.sandbox.keys",
    "integrations.sandbox.wechat",
    "integrations.sandbox.alipay",
    "integrations.sandbox.wechatpay",
    "integrations.sandbox.alipay_trade",  # alipay.trade.* on the sandbox gateway, test/pay
    "integrations.sandbox.face",          # WeChat cityservice/face/identify/*, alipay.user.certify.open.*
]

# Modules defining `async def ensure_indexes(db)`.
INDEX_MODULES = [
    "models.operators",
    "models.idempotency",
    "models.citizens",
    "models.channels",
    "models.catalogue",
    "models.files",
    "models.applications",
    "models.outbox",
    "models.payments",
    "models.appointments",
    "models.consultations",
    "models.ratings",
    "models.feedback",
    "models.audit",
    "models.licences",
    "models.face",
]

# Modules defining `async def load_demo(ctx)` (or `load_demo(db)`), run in order at start-up.
DEMO_MODULES = [
    "models.operators",
    "server.demo_channels",
    "server.demo_payments",  # after server.demo_channels: adds the demo merchants to the demo channels
    "models.licences",  # licence types (before the items that name them) and a signing key
    "models.catalogue",
    "models.appointments",
    "models.consultations",  # after models.catalogue: the demo Q&A library is attached to its items
]

# Periodic background tasks: (name, interval seconds, "module:function") with function(ctx).
PERIODIC_TASKS = [
    ("search_index", 1.0, "models.search:keep_fresh"),
    ("outbox", 1.0, "models.outbox:deliver_due"),
    ("application_read_models", 10.0, "models.applications:renew_read_models"),
    ("payment_reconciliation", 30.0, "models.payments:reconcile_due"),
    ("appointment_reminders", 300.0, "models.appointments:enqueue_reminders"),
    ("appointment_no_shows", 300.0, "models.appointments:mark_no_shows"),
]


class MissingModule(ImportError):
    """A module named in this registry does not exist."""


def load(name: str) -> ModuleType:
    """Import a module this registry lists; raise MissingModule when there is no such module."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise  # the module exists but imports something missing: that error says more
        raise MissingModule(f"server/registry.py lists {name!r}, but there is no such module", name=name) from exc


def load_task(target: str) -> Callable[..., Awaitable[object]]:
    """The function a PERIODIC_TASKS entry names as "module:function"."""
    module_name, _, function = target.partition(":")
    return getattr(load(module_name), function)


def collect_routes(module_names: list[str]) -> list[tuple[str, type]]:
    table: list[tuple[str, type]] = []
    for name in module_names:
        table.extend(load(name).routes)
    return table
