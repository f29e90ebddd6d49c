import secrets
import stat
from pathlib import Path

import pytest

from portal.settings import DEFAULT_SECRET, Settings, SettingsError

STRONG = secrets.token_urlsafe(48)
TOKEN = secrets.token_urlsafe(24)


def test_without_a_secret_a_checkout_gets_its_own_kept_in_var(tmp_path: Path) -> None:
    env = {"PORTAL_SECRET_FILE": str(tmp_path / "var" / "secret")}
    first = Settings.from_env(env).secret_key
    assert first != DEFAULT_SECRET and len(first) >= 43
    assert Settings.from_env(env).secret_key == first  # the same on every later start
    assert stat.S_IMODE((tmp_path / "var" / "secret").stat().st_mode) == 0o600
    assert Settings.from_env({**env, "PORTAL_ENV": "test"}).secret_key == first
    other = Settings.from_env({"PORTAL_SECRET_FILE": str(tmp_path / "elsewhere" / "secret")}).secret_key
    assert other != first  # another checkout, another secret


def test_a_strong_secret_is_accepted_in_production() -> None:
    s = Settings.from_env({"PORTAL_ENV": "production", "PORTAL_SECRET": STRONG, "PORTAL_SERVICE_TOKEN": TOKEN})
    assert s.secret_key == STRONG


def test_defaults_are_the_embedded_sqlite_setup() -> None:
    s = Settings.from_env({})
    assert s.database.url.startswith("sqlite+aiosqlite:///") and s.database.url.endswith("var/portal.db")
    assert s.port == 8000 and s.env == "development" and s.load_demo_data


def test_postgres_urls_switch_to_asyncpg() -> None:
    s = Settings.from_env({"DATABASE_URL": "postgres://u@db:5432/portal"})
    assert s.database.url == "postgresql+asyncpg://u@db:5432/portal" and s.database.is_postgres


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "eighty"}, "PORT must be a whole number"),
        ({"PORT": "70000"}, "PORT must be between 1 and 65535"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL must start with postgresql:// or sqlite:///"),
        ({"PORTAL_ENV": "staging"}, "PORTAL_ENV must be one of"),
        ({"SECURE_COOKIES": "maybe"}, "SECURE_COOKIES must be true or false"),
        ({"DOCUMENT_BACKEND": "ftp"}, "DOCUMENT_BACKEND must be 'local' or 's3'"),
        ({"DOCUMENT_BACKEND": "s3"}, "needs S3_ENDPOINT"),
        ({"PORTAL_ENV": "production"}, "PORTAL_SECRET must be set in production"),
        ({"PORTAL_ENV": "production", "PORTAL_SECRET": DEFAULT_SECRET}, "development default"),
        ({"PORTAL_ENV": "production", "PORTAL_SECRET": STRONG}, "PORTAL_SERVICE_TOKEN must be set"),
        ({"PORTAL_ENV": "production", "PORTAL_SECRET": STRONG, "PORTAL_SERVICE_TOKEN": "dev-service-token"},
         "development default"),
        ({"PORTAL_ENV": "production", "PORTAL_SECRET": "s" * 40, "PORTAL_SERVICE_TOKEN": TOKEN}, "too predictable"),
        ({"PORTAL_ENV": "production", "PORTAL_SECRET": "changeme" * 5, "PORTAL_SERVICE_TOKEN": TOKEN},
         "too predictable"),
        ({"PORTAL_ENV": "production", "PORTAL_SECRET": STRONG, "PORTAL_SERVICE_TOKEN": "t" * 30}, "too predictable"),
        ({"PORTAL_ENV": "test", "PORTAL_SECRET": DEFAULT_SECRET}, "public development default"),
        ({"PORTAL_ENV": "development", "PORTAL_SECRET": DEFAULT_SECRET}, "public development default"),
    ],
)
def test_wrong_values_stop_start_up_with_a_message_that_names_them(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_production_defaults_to_secure_cookies_and_no_demo_data() -> None:
    s = Settings.from_env({"PORTAL_ENV": "production", "PORTAL_SECRET": STRONG, "PORTAL_SERVICE_TOKEN": TOKEN})
    assert s.secure_cookies and not s.load_demo_data
