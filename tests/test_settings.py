"""Settings: read from CITYGATE_* and .env, validated with one clear message per problem."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import Settings, SettingsError, parse_encryption_keys

ROOT = Path(__file__).resolve().parents[1]
GOOD_KEY = base64.b64encode(os.urandom(32)).decode()


def test_defaults_are_development() -> None:
    settings = Settings.from_env({}, env_file=None)
    assert settings.env == "development"
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.sandbox_enabled and settings.demo_data


def test_values_are_parsed_by_type() -> None:
    settings = Settings.from_env({"CITYGATE_PORT": "9000", "CITYGATE_SANDBOX_ENABLED": "false",
                                  "CITYGATE_SHUTDOWN_TIMEOUT_SECONDS": "2.5"}, env_file=None)
    assert settings.port == 9000 and settings.sandbox_enabled is False
    assert settings.shutdown_timeout_seconds == 2.5


def test_every_bad_value_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"CITYGATE_PORT": "eighty", "CITYGATE_ENV": "staging",
                           "CITYGATE_SANDBOX_ENABLED": "maybe", "CITYGATE_MONGODB_URL": "postgres://x",
                           "CITYGATE_EVENT_LOOP": "trio"}, env_file=None)
    problems = "\n".join(caught.value.problems)
    assert "CITYGATE_PORT='eighty': must be a whole number" in problems
    assert "CITYGATE_SANDBOX_ENABLED='maybe': must be true or false" in problems
    assert "CITYGATE_ENV must be one of development, production" in problems
    assert "CITYGATE_MONGODB_URL must start with mongodb://" in problems
    assert "CITYGATE_EVENT_LOOP must be one of uvloop, asyncio, not 'trio'" in problems


def test_production_refuses_sandbox_default_secrets_and_missing_key() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"CITYGATE_ENV": "production", "CITYGATE_SANDBOX_ENABLED": "true"}, env_file=None)
    problems = "\n".join(caught.value.problems)
    assert "production refuses sandbox channels" in problems
    assert "CITYGATE_ENCRYPTION_KEYS" in problems
    assert "CITYGATE_TOKEN_SECRET" in problems
    assert "CITYGATE_ADMIN_PASSWORD" in problems


def test_production_with_real_configuration_starts() -> None:
    settings = Settings.from_env({
        "CITYGATE_ENV": "production", "CITYGATE_ENCRYPTION_KEYS": f"2026a:{GOOD_KEY}",
        "CITYGATE_TOKEN_SECRET": "x" * 40, "CITYGATE_ADMIN_PASSWORD": "a-real-password",
        "CITYGATE_MONGODB_URL": "mongodb://db1,db2,db3/?replicaSet=rs0", "CITYGATE_REDIS_URL": "redis://cache:6379/0",
    }, env_file=None)
    assert settings.is_production and not settings.sandbox_enabled and not settings.demo_data


def test_secrets_are_masked_in_error_messages() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"CITYGATE_ENCRYPTION_KEYS": "not-base64!!secret"}, env_file=None)
    assert "secret" not in str(caught.value).replace("CITYGATE_", "")


def test_encryption_keys_with_ids_for_rotation() -> None:
    other = base64.b64encode(os.urandom(32)).decode()
    assert [kid for kid, _ in parse_encryption_keys(f"new:{GOOD_KEY},old:{other}")] == ["new", "old"]
    with pytest.raises(ValueError, match="32 bytes"):
        parse_encryption_keys(base64.b64encode(b"short").decode())


def test_env_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("# local\nCITYGATE_PORT=7001\nexport CITYGATE_HOST='0.0.0.0'\n", encoding="utf-8")
    settings = Settings.from_env({"CITYGATE_PORT": "7002"}, env_file=str(env_file))
    assert (settings.host, settings.port) == ("0.0.0.0", 7002)


def test_env_file_values_are_read_as_dotenv_writes_them(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text('CITYGATE_LOG_LEVEL=DEBUG  # a comment after the value\n'
                        'CITYGATE_ADMIN_PASSWORD="pa ss # kept, inside quotes"\n'
                        "CITYGATE_TOKEN_SECRET=${HOME}-literal\n"
                        "CITYGATE_DEMO_DATA\n", encoding="utf-8")
    settings = Settings.from_env({}, env_file=str(env_file))
    assert settings.log_level == "DEBUG"
    assert settings.admin_password == "pa ss # kept, inside quotes"
    assert settings.token_secret == "${HOME}-literal"  # not expanded: a secret means what it says
    assert settings.demo_data is True  # a name without a value sets nothing


def test_server_refuses_to_start_with_bad_settings() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYGATE_")}
    env.update({"CITYGATE_ENV": "production"})
    result = subprocess.run([sys.executable, "-m", "server"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert "production refuses the default CITYGATE_ADMIN_PASSWORD" in result.stderr
