"""One settings object, read once from the environment and validated at start."""

from __future__ import annotations

import base64
import dataclasses
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import dotenv

# Development defaults that production must never run with.
DEFAULT_TOKEN_SECRET = "dev-token-secret-change-me"
DEFAULT_ADMIN_PASSWORD = "admin-change-me"
# 32 zero-ish bytes, base64: clearly a development key, refused in production.
DEFAULT_ENCRYPTION_KEY = base64.b64encode(b"citygate-development-key-32byte!").decode()

ENVIRONMENTS = ("development", "production")
EVENT_LOOPS = ("uvloop", "asyncio")
# One node, or a Redis Cluster (`redis+cluster://host:port[,host:port...]`, server/redisclient.py).
REDIS_SCHEMES = ("redis://", "rediss://", "unix://", "redis+cluster://", "rediss+cluster://")


class SettingsError(ValueError):
    """Raised with every problem found in the environment, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid settings:\n  - " + "\n  - ".join(problems))


@dataclasses.dataclass(frozen=True)
class Settings:
    env: str = "development"
    host: str = "127.0.0.1"
    port: int = 8080
    # Public base URL that payment channels call back (notify URLs); defaults to http://host:port.
    public_base_url: str = ""
    mongodb_url: str = ""  # empty: start the embedded nx-27017 server
    mongodb_db: str = "citygate"
    redis_url: str = ""  # empty: start an embedded redis-server; redis+cluster://h:p,h:p for a cluster
    data_dir: str = "var"
    max_body_bytes: int = 1024 * 1024
    max_upload_bytes: int = 20 * 1024 * 1024
    # base64 of 32 bytes; "kid:key,kid:key" for rotation: the first key encrypts, all decrypt.
    encryption_keys: str = DEFAULT_ENCRYPTION_KEY
    token_secret: str = DEFAULT_TOKEN_SECRET
    admin_password: str = DEFAULT_ADMIN_PASSWORD
    sandbox_enabled: bool = True
    demo_data: bool = True
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    # H5 web sessions (the /m/ client's HttpOnly cookie after a WeChat or Alipay web login).
    web_session_ttl_seconds: int = 8 * 3600
    login_rate_limit_per_minute: int = 20
    # Real-name binding attempts per citizen (each one checks a number and says whether it is taken).
    realname_attempts_per_hour: int = 10
    payment_order_ttl_minutes: int = 30
    booking_horizon_days: int = 14
    # Answer deadlines (working days after the receipt day); consultations received at or after the
    # cut-off hour count as received on the next working day.
    consultation_answer_workdays: int = 0
    consultation_cutoff_hour: int = 15
    complaint_answer_workdays: int = 5
    # Appointments: cancel up to N minutes before the slot; check in from N minutes before the slot
    # until N minutes after it ends; `no_show_limit` no-shows within the window suspend online booking.
    appointment_cancel_cutoff_minutes: int = 60
    appointment_checkin_open_minutes: int = 60
    appointment_checkin_grace_minutes: int = 0
    no_show_limit: int = 3
    no_show_window_days: int = 90
    no_show_suspension_days: int = 30
    shutdown_timeout_seconds: float = 10.0
    # Take the client address from X-Real-IP / X-Forwarded-For: only behind a proxy that sets them,
    # otherwise any client could pick the address its rate limits are counted under.
    trust_proxy_headers: bool = False
    workers: int = 1
    background_workers: bool = True
    log_level: str = "INFO"
    # "uvloop" (libuv under the same asyncio API: ~10% more requests per core) or "asyncio" (the
    # standard library's loop: a fallback should uvloop ever misbehave).
    event_loop: str = "uvloop"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def base_url(self) -> str:
        return self.public_base_url or f"http://{self.host}:{self.port}"

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, env_file: str | None = ".env") -> Settings:
        """Build settings from CITYGATE_* variables (and an optional .env file); raise SettingsError."""
        values: dict[str, str] = {}
        if env_file and Path(env_file).is_file():
            values.update(_read_env_file(Path(env_file)))
        values.update(os.environ if environ is None else environ)  # the real environment wins over .env
        problems: list[str] = []
        kwargs: dict[str, object] = {}
        for field in dataclasses.fields(cls):
            name = "CITYGATE_" + field.name.upper()
            if name not in values:
                continue
            raw = values[name].strip()
            parse = _PARSERS[field.type]
            try:
                kwargs[field.name] = parse(raw)
            except ValueError as exc:
                problems.append(f"{name}={_shown(field.name, raw)!s}: {exc}")
        settings = cls(**kwargs)  # type: ignore[arg-type]
        if "CITYGATE_SANDBOX_ENABLED" not in values and settings.is_production:
            settings = settings.replace(sandbox_enabled=False)
        if "CITYGATE_DEMO_DATA" not in values and settings.is_production:
            settings = settings.replace(demo_data=False)
        problems.extend(settings.problems())
        if problems:
            raise SettingsError(problems)
        return settings

    def problems(self) -> list[str]:
        """Every reason these settings cannot run, as readable sentences."""
        found: list[str] = []
        if self.env not in ENVIRONMENTS:
            found.append(f"CITYGATE_ENV must be one of {', '.join(ENVIRONMENTS)}, not {self.env!r}")
        if not 0 <= self.port <= 65535:
            found.append(f"CITYGATE_PORT must be between 0 and 65535, not {self.port}")
        if not 0 <= self.consultation_cutoff_hour <= 23 or min(self.consultation_answer_workdays, self.complaint_answer_workdays) < 0:
            found.append("CITYGATE_CONSULTATION_CUTOFF_HOUR must be 0-23 and answer workdays must not be negative")
        if self.workers < 1:
            found.append("CITYGATE_WORKERS must be at least 1")
        if self.event_loop not in EVENT_LOOPS:
            found.append(f"CITYGATE_EVENT_LOOP must be one of {', '.join(EVENT_LOOPS)}, not {self.event_loop!r}")
        if self.max_body_bytes < 1024:
            found.append("CITYGATE_MAX_BODY_BYTES must be at least 1024")
        if self.mongodb_url and not self.mongodb_url.startswith(("mongodb://", "mongodb+srv://")):
            found.append("CITYGATE_MONGODB_URL must start with mongodb:// or mongodb+srv://")
        if self.redis_url and not self.redis_url.startswith(REDIS_SCHEMES):
            found.append("CITYGATE_REDIS_URL must start with " + ", ".join(REDIS_SCHEMES[:-1]) + " or " + REDIS_SCHEMES[-1])
        try:
            keys = parse_encryption_keys(self.encryption_keys)
        except ValueError as exc:
            found.append(f"CITYGATE_ENCRYPTION_KEYS: {exc}")
            keys = []
        if self.is_production:
            if self.sandbox_enabled:
                found.append("production refuses sandbox channels: unset CITYGATE_SANDBOX_ENABLED")
            if self.demo_data:
                found.append("production refuses demo data: unset CITYGATE_DEMO_DATA")
            if not keys or self.encryption_keys == DEFAULT_ENCRYPTION_KEY:
                found.append("production needs its own CITYGATE_ENCRYPTION_KEYS (the development key is public)")
            if self.token_secret == DEFAULT_TOKEN_SECRET or len(self.token_secret) < 32:
                found.append("production needs CITYGATE_TOKEN_SECRET of at least 32 characters, not the default")
            if self.admin_password == DEFAULT_ADMIN_PASSWORD:
                found.append("production refuses the default CITYGATE_ADMIN_PASSWORD")
            if not self.mongodb_url:
                found.append("production needs CITYGATE_MONGODB_URL (the embedded datastore is for development)")
            if not self.redis_url:
                found.append("production needs CITYGATE_REDIS_URL (the embedded Redis is for development)")
        return found


def parse_encryption_keys(raw: str) -> list[tuple[str, bytes]]:
    """Parse "kid:base64key,kid:base64key" (or one bare key, kid "k1") into (kid, 32-byte key) pairs."""
    pairs: list[tuple[str, bytes]] = []
    for number, part in enumerate(p.strip() for p in raw.split(",") if p.strip()):
        kid, _, encoded = part.rpartition(":") if ":" in part else (f"k{number + 1}", "", part)
        try:
            key = base64.b64decode(encoded, validate=True)
        except (ValueError, TypeError):
            raise ValueError(f"key {kid!r} is not valid base64") from None
        if len(key) != 32:
            raise ValueError(f"key {kid!r} must decode to 32 bytes, not {len(key)}")
        pairs.append((kid, key))
    if not pairs:
        raise ValueError("at least one key is required")
    return pairs


def _parse_bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("must be true or false")


def _parse_int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError("must be a whole number") from None


def _parse_float(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ValueError("must be a number") from None


_PARSERS: dict[object, Callable[[str], object]] = {
    "str": str,
    "int": _parse_int,
    "bool": _parse_bool,
    "float": _parse_float,
    str: str,
    int: _parse_int,
    bool: _parse_bool,
    float: _parse_float,
}

_SECRET_FIELDS = {"encryption_keys", "token_secret", "admin_password", "mongodb_url", "redis_url"}


def _shown(field: str, raw: str) -> str:
    """A value as it may appear in an error message: secrets masked."""
    return "***" if field in _SECRET_FIELDS else repr(raw)


def _read_env_file(path: Path) -> dict[str, str]:
    """The assignments in a .env file, taken literally: `${VAR}` is not expanded, a bare `NAME` is skipped."""
    # Without interpolation a value means the same whichever environment reads the file, and a
    # secret holding "${" stays as written.
    return {name: value for name, value in dotenv.dotenv_values(path, interpolate=False).items() if value is not None}
