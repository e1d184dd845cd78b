"""Every setting of cauce, read from ``CAUCE_*`` environment variables in one place.

Each field says its default and why; nothing else in the code reads the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    return os.environ.get(f"CAUCE_{name}", default)


def _tls_mode(value: str) -> str:
    """``CAUCE_SMTP_TLS`` as a mode; a typo must not silently send mail in clear text."""
    text = value.strip().lower()
    if text in ("1", "true", "yes", "starttls"):
        return "starttls"
    if text in ("", "0", "false", "no", "none"):
        return "none"
    if text in ("ssl", "tls", "smtps"):
        return "ssl"
    raise ValueError(f"CAUCE_SMTP_TLS must be none, starttls or ssl, not {value!r}")


@dataclass(frozen=True)
class Settings:
    """Runtime configuration; build with :meth:`from_env` or pass values in tests."""

    # An SQLite file works with zero setup; PostgreSQL is the multi-worker deployment.
    database_url: str = f"sqlite:///{_REPO / 'var' / 'cauce.db'}"
    # Loopback by default: exposing the API is a deliberate act.
    host: str = "127.0.0.1"
    port: int = 8000
    # The diagrams deployed by `cauce deploy` / `make run`.
    bpmn_dir: Path = _REPO / "bpmn"
    # The manual's roles (lane names) and the system roles; deploys refuse lanes not listed here.
    roles_file: Path = _REPO / "bpmn" / "roles.yaml"
    # In-process scheduler: one process is the default deployment; tests and extra workers opt out.
    scheduler_enabled: bool = True
    # Period of the scheduler's safety sweep. Timers are woken at their due time by a job armed at
    # the earliest one; the sweep only picks up timers written by other processes (see docs/timers.md).
    scheduler_interval_s: float = 60.0
    # Ceiling for a script task or gateway condition: a runaway loop must not hold a worker.
    script_timeout_s: float = 2.0
    # How long a writer waits for the instance lock before answering 409 instead of hanging.
    lock_timeout_s: float = 10.0
    # Largest page the list endpoints return, to keep a response bounded.
    max_page_size: int = 500
    # Outgoing mail (the notify outbox). Empty host: mail waits in the outbox until configured.
    smtp_host: str = ""
    smtp_port: int = 25
    # "none", "starttls" (also 1/true/yes) or "ssl" (implicit TLS, usually port 465).
    smtp_tls: str = "none"
    smtp_sender: str = "cauce@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    # CA bundle to verify the SMTP server's certificate (an internal CA); default: the system's.
    smtp_ca_file: Path | None = None
    # Development mode: write each mail as an .eml file here instead of using SMTP.
    mail_dir: Path | None = None
    # How often the scheduler sends the outbox; a mail leaves at most this long after its step.
    outbox_interval_s: float = 15.0
    # Uploaded and handler-produced files (layouts, certificates, reports), named by SHA-256.
    files_dir: Path = _REPO / "var" / "files"
    # Largest accepted upload: a CURP layout of 100,000 rows is about 5 MB as CSV.
    max_upload_bytes: int = 10 * 1024 * 1024
    # How long a worker holds a claimed async handler call before another worker may take it over
    # (its worker is presumed dead): longer than the slowest handler, or that call runs twice.
    handler_lease_s: float = 300.0
    # How long a server process trusts a token it has checked before reading it again. A token
    # revoked (or a user deactivated) by another process stops working within this many seconds;
    # by the same process, at once. 0: read at every request.
    auth_cache_s: float = 5.0
    # gunicorn's access log: "-" for standard output, or a file; empty (the default, as gunicorn's)
    # for none. Every change is already in the history with its actor, and a reverse proxy in front
    # usually logs requests; one line per request costs about 8% of the server's CPU.
    access_log: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        """Settings from ``CAUCE_*`` variables, defaults for the rest."""
        default = cls()
        return cls(
            database_url=_env("DATABASE_URL", default.database_url),
            host=_env("HOST", default.host),
            port=int(_env("PORT", str(default.port))),
            bpmn_dir=Path(_env("BPMN_DIR", str(default.bpmn_dir))),
            roles_file=Path(_env("ROLES_FILE", str(default.roles_file))),
            scheduler_enabled=_env("SCHEDULER", "1") not in ("0", "false", "no"),
            scheduler_interval_s=float(_env("SCHEDULER_INTERVAL_S", str(default.scheduler_interval_s))),
            script_timeout_s=float(_env("SCRIPT_TIMEOUT_S", str(default.script_timeout_s))),
            lock_timeout_s=float(_env("LOCK_TIMEOUT_S", str(default.lock_timeout_s))),
            max_page_size=int(_env("MAX_PAGE_SIZE", str(default.max_page_size))),
            smtp_host=_env("SMTP_HOST", default.smtp_host),
            smtp_port=int(_env("SMTP_PORT", str(default.smtp_port))),
            smtp_tls=_tls_mode(_env("SMTP_TLS", default.smtp_tls)),
            smtp_sender=_env("SMTP_SENDER", default.smtp_sender),
            smtp_user=_env("SMTP_USER", "") or None,
            smtp_password=_env("SMTP_PASSWORD", "") or None,
            smtp_ca_file=Path(_env("SMTP_CA_FILE", "")) if _env("SMTP_CA_FILE", "") else None,
            mail_dir=Path(_env("MAIL_DIR", "")) if _env("MAIL_DIR", "") else None,
            outbox_interval_s=float(_env("OUTBOX_INTERVAL_S", str(default.outbox_interval_s))),
            files_dir=Path(_env("FILES_DIR", str(default.files_dir))),
            max_upload_bytes=int(_env("MAX_UPLOAD_BYTES", str(default.max_upload_bytes))),
            handler_lease_s=float(_env("HANDLER_LEASE_S", str(default.handler_lease_s))),
            auth_cache_s=float(_env("AUTH_CACHE_S", str(default.auth_cache_s))),
            access_log=_env("ACCESS_LOG", default.access_log),
        )
