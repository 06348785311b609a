"""The sandbox's consent pages (WeChat's and Alipay's web authorisation), shared by both vendors.

A page asks the user to agree (同意) and posts back to itself; the vendor module then redirects to the
app's `redirect_uri` with a code. Which user agrees: the one a test named for the app's next consent
(`/sandbox/<vendor>/test/oauth-user`, kept in Redis until used), else one derived from a sandbox
cookie, so one browser stays one person across logins (as one phone is one WeChat user).
"""

from __future__ import annotations

import hashlib
import html
import json
import secrets
import urllib.parse
from typing import Any

from integrations.sandbox.base import SandboxHandler

NEXT_USER_PREFIX = "cg:sandbox:oauth-next:"
NEXT_USER_TTL_SECONDS = 600
BROWSER_COOKIE = "sandbox_user"


async def set_next_user(ctx: Any, vendor: str, app_id: str, user: dict[str, Any]) -> None:
    """The user the app's next consent (on this vendor) yields."""
    await ctx.redis.set(f"{NEXT_USER_PREFIX}{vendor}:{app_id}", json.dumps(user), ex=NEXT_USER_TTL_SECONDS)


async def take_next_user(ctx: Any, vendor: str, app_id: str) -> dict[str, Any] | None:
    raw = await ctx.redis.getdel(f"{NEXT_USER_PREFIX}{vendor}:{app_id}")
    return json.loads(raw) if raw else None


def browser_user(handler: SandboxHandler) -> str:
    """A stable pseudonym of this browser (a sandbox cookie), from which a vendor derives its user."""
    seed = handler.get_cookie(BROWSER_COOKIE) or ""
    if not seed or len(seed) > 64:
        seed = secrets.token_hex(16)
        handler.set_cookie(BROWSER_COOKIE, seed, path="/sandbox/", httponly=True, samesite="Lax")
    return hashlib.sha256(seed.encode()).hexdigest()


def redirect_host_allowed(app: dict[str, Any], redirect_uri: str) -> bool:
    """Whether `redirect_uri` is on a domain the app registered (the vendor's 授权回调域名)."""
    try:
        parsed = urllib.parse.urlsplit(redirect_uri)
        host = (parsed.hostname or "").lower()
    except ValueError:
        return False
    return parsed.scheme in ("http", "https") and host in [d.lower() for d in app.get("domains") or []]


def with_query(url: str, params: dict[str, str]) -> str:
    """`url` with `params` appended to its query string."""
    return url + ("&" if "?" in url else "?") + urllib.parse.urlencode(params)


def render(handler: SandboxHandler, *, vendor_name: str, title: str, app_name: str, asks: str,
           fields: dict[str, str], button: str = "同意", decline: str = "拒绝") -> None:
    """The consent page: who asks for what, and 同意 / 拒绝 posting back to the same address."""
    hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                     for k, v in fields.items())
    page = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{html.escape(title)}</title><link rel="icon" href="data:,">
<style>body{{font:18px/1.6 system-ui,sans-serif;margin:0;background:#f5f5f5;color:#1a1a1a}}
main{{max-width:28rem;margin:0 auto;padding:2rem 1.25rem}}h1{{font-size:1.3rem}}
.card{{background:#fff;border-radius:12px;padding:1.25rem;margin:1rem 0}}
button{{display:block;width:100%;font-size:1.1rem;padding:.85rem;border-radius:8px;border:0;margin:.75rem 0}}
.ok{{background:#06752e;color:#fff}}.no{{background:#e5e5e5;color:#1a1a1a}}</style></head>
<body><main><p>{html.escape(vendor_name)}（沙箱）</p><h1>{html.escape(app_name)} 申请使用</h1>
<div class="card"><p>{html.escape(asks)}</p></div>
<form method="post">{hidden}<button class="ok" type="submit" name="decision" value="allow">{html.escape(button)}</button>
<button class="no" type="submit" name="decision" value="deny">{html.escape(decline)}</button></form>
</main></body></html>"""
    handler.set_header("Content-Type", "text/html; charset=utf-8")
    handler.set_header("Cache-Control", "no-store")
    handler.finish(page)
