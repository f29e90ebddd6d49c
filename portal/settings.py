"""All configuration, read from the environment once and validated at start-up.

A wrong value stops the portal with a message that names the variable and says what
is expected, rather than failing later in a request.
"""

from __future__ import annotations

import math
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from storage.db import DatabaseURLError, normalise_database_url

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET = "dev-only-secret-change-me-0123456789abcdef"  # noqa: S105 - public: refused everywhere
DEFAULT_SERVICE_TOKEN = "dev-service-token"  # noqa: S105 - refused in production
DEFAULT_CASE_INGEST_TOKEN = "dev-case-ingest-token"  # noqa: S105 - refused in production
ENVIRONMENTS = ("development", "test", "production")


class SettingsError(ValueError):
    """A configuration value is wrong; the message says which and how to fix it."""


def _int(env: dict[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number between {lo} and {hi}, got {raw!r}") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _redis(env: dict[str, str]) -> str:
    url = env.get("REDIS_URL", "").strip()
    if url and not url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(f"REDIS_URL must start with redis://, rediss:// or unix:// (got {url.split(':')[0]!r})")
    return url


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class DatabaseSettings:
    url: str
    pool_size: int = 10
    echo: bool = False
    connect_timeout: int = 5

    @property
    def is_postgres(self) -> bool:
        return self.url.startswith("postgresql")


@dataclass(frozen=True)
class DocumentSettings:
    backend: str = "local"
    directory: Path = ROOT / "var" / "documents"
    s3_endpoint: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_bucket: str = "portal-documents"
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    s3_public_endpoint: str = ""  # host in presigned links when browsers reach the store by another name
    # A store that stops answering fails an upload in about (1 + retries) × read timeout: a 503, not a hang.
    s3_connect_timeout: float = 3.0
    s3_read_timeout: float = 5.0
    s3_retries: int = 0
    sweep_interval_seconds: int = 3600  # the sweeper of objects without a row; 0: not in this process
    sweep_grace_seconds: int = 3600  # objects younger than this are never swept (uploads in progress)


@dataclass(frozen=True)
class BotSettings:
    rasa_url: str = "http://127.0.0.1:5005"  # the first of rasa_urls
    timeout_seconds: float = 8.0
    # Every Rasa replica (RASA_URLS, comma-separated; else RASA_URL alone): conversations stick
    # to one by sender and move when it is down (portal/rasa_replicas.py).
    rasa_urls: tuple[str, ...] = ("http://127.0.0.1:5005",)


def _bot(env: dict[str, str]) -> BotSettings:
    raw = env.get("RASA_URLS", "").strip() or env.get("RASA_URL", "").strip() or "http://127.0.0.1:5005"
    urls = tuple(dict.fromkeys(u.strip().rstrip("/") for u in raw.split(",") if u.strip()))
    bad = [u for u in urls if not u.startswith(("http://", "https://"))]
    if not urls or bad:
        raise SettingsError(f"RASA_URLS / RASA_URL must be http:// or https:// addresses, comma-separated; got {raw!r}")
    return BotSettings(rasa_url=urls[0], rasa_urls=urls)


@dataclass(frozen=True)
class QueueSettings:
    """The back-office queue: claim leases and how notifications go out."""

    claim_lease_seconds: int = 900
    notify_sender: str = "log"  # log / sms / email
    notify_interval_seconds: int = 10  # 0: this process does not drain the outbox
    sms_gateway_url: str = ""
    sms_gateway_token: str = ""
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = ""
    smtp_timeout_seconds: int = 10
    notify_batch: int = 50  # rows a sender claims at once
    notify_lease_seconds: int = 120  # claimed rows of a sender that died are sent again after this
    digest_interval_seconds: int = 600  # how often a process checks whether today's staff digests are due; 0: never
    digest_hour: int = 8  # China time: digests go out from this hour on


def _queue(env: dict[str, str]) -> QueueSettings:
    sender = env.get("NOTIFY_SENDER", "log") or "log"
    if sender not in ("log", "sms", "email"):
        raise SettingsError(f"NOTIFY_SENDER must be log, sms or email, got {sender!r}")
    queue = QueueSettings(
        claim_lease_seconds=_int(env, "CLAIM_LEASE_SECONDS", 900, 30, 86400),
        notify_sender=sender,
        notify_interval_seconds=_int(env, "NOTIFY_INTERVAL_SECONDS", 10, 0, 3600),
        sms_gateway_url=env.get("SMS_GATEWAY_URL", "").strip(),
        sms_gateway_token=env.get("SMS_GATEWAY_TOKEN", ""),
        smtp_host=env.get("SMTP_HOST", "").strip(),
        smtp_port=_int(env, "SMTP_PORT", 25, 1, 65535),
        smtp_from=env.get("SMTP_FROM", "").strip(),
        smtp_timeout_seconds=_int(env, "SMTP_TIMEOUT_SECONDS", 10, 1, 300),
        notify_batch=_int(env, "NOTIFY_BATCH", 50, 1, 1000),
        notify_lease_seconds=_int(env, "NOTIFY_LEASE_SECONDS", 120, 10, 86400),
        digest_interval_seconds=_int(env, "DIGEST_INTERVAL_SECONDS", 600, 0, 86400),
        digest_hour=_int(env, "DIGEST_HOUR", 8, 0, 23),
    )
    if sender == "sms" and not queue.sms_gateway_url.startswith(("http://", "https://")):
        raise SettingsError("NOTIFY_SENDER=sms needs SMS_GATEWAY_URL (http:// or https://)")
    if sender == "email" and not (queue.smtp_host and "@" in queue.smtp_from):
        raise SettingsError("NOTIFY_SENDER=email needs SMTP_HOST and SMTP_FROM (an e-mail address)")
    return queue


@dataclass(frozen=True)
class Settings:
    env: str
    secret_key: str
    service_token: str
    database: DatabaseSettings
    documents: DocumentSettings = field(default_factory=DocumentSettings)
    bot: BotSettings = field(default_factory=BotSettings)
    queue: QueueSettings = field(default_factory=QueueSettings)
    host: str = "127.0.0.1"
    port: int = 8000
    load_demo_data: bool = True
    secure_cookies: bool = False
    throttle_failures: int = 5
    throttle_window_seconds: int = 900
    poll_seconds: int = 20
    session_recheck_seconds: int = 5
    purge_interval_seconds: int = 600
    redis_url: str = ""
    # The court's case system's own token: it may call the ingest routes (/api/v1/ingest/…) and
    # nothing else; the assistant's service token may not ingest. Empty: ingest is closed.
    case_ingest_token: str = ""
    case_stats_interval_seconds: int = 3600  # how often the cases' node medians are recomputed (0: never)
    # How long a process trusts the version of a lot it looked up (public lot pages; 0: ask every time).
    lot_version_ttl_ms: int = 1000
    lot_cache_entries: int = 4096  # lots kept per process (their rendered bodies: twice as many)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        portal_env = env.get("PORTAL_ENV", "development")
        if portal_env not in ENVIRONMENTS:
            raise SettingsError(f"PORTAL_ENV must be one of {', '.join(ENVIRONMENTS)}, got {portal_env!r}")
        production = portal_env == "production"

        raw_url = env.get("DATABASE_URL") or f"sqlite:///{ROOT / 'var' / 'portal.db'}"
        try:
            db_url = normalise_database_url(raw_url)
        except DatabaseURLError as exc:
            raise SettingsError(str(exc)) from None

        secret = env.get("PORTAL_SECRET", "")
        if not secret:
            if production:
                raise SettingsError("PORTAL_SECRET must be set in production (at least 32 random characters)")
            secret = checkout_secret(Path(env.get("PORTAL_SECRET_FILE") or ROOT / "var" / "secret"))
        if secret == DEFAULT_SECRET:
            raise SettingsError("PORTAL_SECRET is the public development default: leave it unset outside production "
                                "(a secret is generated in var/secret) or set a random one")
        if production and (len(secret) < 32):
            raise SettingsError("PORTAL_SECRET is the development default or shorter than 32 characters")
        if production and estimated_bits(secret) < MIN_SECRET_BITS:
            raise SettingsError("PORTAL_SECRET is too predictable (repeated or few distinct characters): "
                                "use e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`")

        token = env.get("PORTAL_SERVICE_TOKEN", "")
        if not token:
            if production:
                raise SettingsError("PORTAL_SERVICE_TOKEN must be set in production (the bot's API token)")
            token = DEFAULT_SERVICE_TOKEN
        if production and (token == DEFAULT_SERVICE_TOKEN or len(token) < 24):
            raise SettingsError("PORTAL_SERVICE_TOKEN is the development default or shorter than 24 characters")
        if production and estimated_bits(token) < MIN_TOKEN_BITS:
            raise SettingsError("PORTAL_SERVICE_TOKEN is too predictable (repeated or few distinct characters): "
                                "use e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`")

        ingest_token = env.get("CASE_INGEST_TOKEN", "")
        if not ingest_token and not production:
            ingest_token = DEFAULT_CASE_INGEST_TOKEN
        if ingest_token and ingest_token == token:
            raise SettingsError("CASE_INGEST_TOKEN must differ from PORTAL_SERVICE_TOKEN (the court's system has its own)")
        if production and ingest_token and (ingest_token == DEFAULT_CASE_INGEST_TOKEN or len(ingest_token) < 24
                                            or estimated_bits(ingest_token) < MIN_TOKEN_BITS):
            raise SettingsError("CASE_INGEST_TOKEN is the development default, shorter than 24 characters or too "
                                "predictable: use e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`")

        backend = env.get("DOCUMENT_BACKEND", "local")
        if backend not in ("local", "s3"):
            raise SettingsError(f"DOCUMENT_BACKEND must be 'local' or 's3', got {backend!r}")
        documents = DocumentSettings(
            backend=backend,
            directory=Path(env.get("DOCUMENT_DIR") or ROOT / "var" / "documents"),
            s3_endpoint=env.get("S3_ENDPOINT", ""),
            s3_access_key=env.get("S3_ACCESS_KEY", ""),
            s3_secret_key=env.get("S3_SECRET_KEY", ""),
            s3_bucket=env.get("S3_BUCKET", "portal-documents"),
            s3_secure=_bool(env, "S3_SECURE", False),
            s3_region=env.get("S3_REGION", "us-east-1"),
            s3_public_endpoint=env.get("S3_PUBLIC_ENDPOINT", "").strip(),
            s3_connect_timeout=float(_int(env, "S3_CONNECT_TIMEOUT", 3, 1, 60)),
            s3_read_timeout=float(_int(env, "S3_READ_TIMEOUT", 5, 1, 600)),
            s3_retries=_int(env, "S3_RETRIES", 0, 0, 5),
            sweep_interval_seconds=_int(env, "SWEEP_INTERVAL_SECONDS", 3600, 0, 7 * 86400),
            sweep_grace_seconds=_int(env, "SWEEP_GRACE_SECONDS", 3600, 60, 30 * 86400),
        )
        if backend == "s3" and not (documents.s3_endpoint and documents.s3_access_key and documents.s3_secret_key):
            raise SettingsError("DOCUMENT_BACKEND=s3 needs S3_ENDPOINT, S3_ACCESS_KEY and S3_SECRET_KEY")

        return cls(
            env=portal_env,
            secret_key=secret,
            service_token=token,
            case_ingest_token=ingest_token,
            database=DatabaseSettings(
                url=db_url,
                pool_size=_int(env, "DATABASE_POOL_SIZE", 10, 1, 200),
                echo=_bool(env, "DATABASE_ECHO", False),
                connect_timeout=_int(env, "DATABASE_CONNECT_TIMEOUT", 5, 1, 120),
            ),
            documents=documents,
            queue=_queue(env),
            bot=_bot(env),
            host=env.get("HOST", "127.0.0.1"),
            port=_int(env, "PORT", 8000, 1, 65535),
            load_demo_data=_bool(env, "LOAD_DEMO_DATA", not production),
            secure_cookies=_bool(env, "SECURE_COOKIES", production),
            throttle_failures=_int(env, "THROTTLE_FAILURES", 5, 1, 1000),
            throttle_window_seconds=_int(env, "THROTTLE_WINDOW_SECONDS", 900, 1, 86400),
            poll_seconds=_int(env, "TRACKING_POLL_SECONDS", 20, 2, 3600),
            session_recheck_seconds=_int(env, "SESSION_RECHECK_SECONDS", 5, 0, 300),
            purge_interval_seconds=_int(env, "PURGE_INTERVAL_SECONDS", 600, 0, 86400),
            redis_url=_redis(env),
            case_stats_interval_seconds=_int(env, "CASE_STATS_INTERVAL_SECONDS", 3600, 0, 7 * 86400),
            lot_version_ttl_ms=_int(env, "LOT_VERSION_TTL_MS", 1000, 0, 60000),
            lot_cache_entries=_int(env, "LOT_CACHE_ENTRIES", 4096, 0, 1_000_000),
        )


def random_secret() -> str:
    return secrets.token_urlsafe(48)


# A lower bound on a secret's entropy, from the spread of its characters (length times the
# Shannon entropy of their frequencies). It cannot prove randomness, but it refuses the usual
# mistakes: "s" * 40, "changeme" repeated, a word padded with one letter. 32 hex digits of a
# real random source estimate at about 118 bits; token_urlsafe(48) at about 340.
MIN_SECRET_BITS = 100
MIN_TOKEN_BITS = 80


def estimated_bits(value: str) -> float:
    """0 for a string that is one short unit repeated or has fewer than 10 distinct characters."""
    if not value or len(set(value)) < 10 or (value + value).find(value, 1) < len(value):
        return 0.0
    counts: dict[str, int] = {}
    for ch in value:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(value)
    per_char = -sum(c / n * math.log2(c / n) for c in counts.values())
    return per_char * n


def checkout_secret(path: Path) -> str:
    """This checkout's own signing secret outside production: made on first run, kept in var/."""
    try:
        existing = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        existing = ""
    if len(existing) >= 32:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = random_secret()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(fresh + "\n")
    try:
        os.link(tmp, path)  # only the first of several processes starting at once wins
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    finally:
        tmp.unlink(missing_ok=True)
    return fresh
