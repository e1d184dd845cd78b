"""The ``cauce`` command: migrate the database, deploy diagrams, serve the API.

Every subcommand reads the same ``CAUCE_*`` settings as the server, so ``.venv/bin/cauce`` acts
on the database that ``make run`` serves.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.errors import EngineError
from engine.settings import Settings

_MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _alembic_config(settings: Settings) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    return config


def db_upgrade(settings: Settings, revision: str = "head") -> None:
    from alembic import command

    if settings.database_url.startswith("sqlite:///"):
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(_alembic_config(settings), revision)


def deploy(settings: Settings, paths: Sequence[Path]) -> int:
    """Deploy files or folders of diagrams; prints one line per diagram. Returns the failures."""
    from api import default_handlers
    from engine.bootstrap import build

    wiring = build(settings, handlers=default_handlers(settings), check_handlers=True)
    failures = 0
    created = unchanged = 0
    try:
        for path in paths:
            files = sorted(path.rglob("*.bpmn")) if path.is_dir() else [path]
            for file in files:
                name = str(file.relative_to(path)) if path.is_dir() else file.name
                try:
                    result = wiring.service.deploy(file.read_bytes(), source_name=name, actor="cli")
                except EngineError as exc:
                    failures += 1
                    print(f"FAILED     {name}: {exc.message} {exc.details or ''}", file=sys.stderr)
                    continue
                d = result.definition
                created += result.created
                unchanged += not result.created
                print(f"{'deployed ' if result.created else 'unchanged'}  {d.key} v{d.version}  ({name})")
    finally:
        wiring.db.dispose()
    print(f"{created} deployed, {unchanged} unchanged, {failures} failed")
    return failures


def user_command(settings: Settings, args: argparse.Namespace) -> int:
    """``cauce user add|token|revoke``: the bearer token, when one is issued, is the last line."""
    from engine.bootstrap import build

    wiring = build(settings)
    try:
        if args.action == "add":
            if not args.role:
                print("give at least one --role (an id or the manual's name; see bpmn/roles.yaml)", file=sys.stderr)
                return 2
            user, token = wiring.identity.create_user(args.name, args.role, email=args.email,
                                                      display_name=args.display_name, location=args.location)
            print(f"user {user.name} created with roles: {', '.join(r.id for r in user.roles)}")
            print(token)
        elif args.action == "token":
            print(wiring.identity.issue_token(args.name))
        else:
            count = wiring.identity.revoke(args.name)
            print(f"{count} token(s) of {args.name} revoked")
    except EngineError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    finally:
        wiring.db.dispose()
    return 0


def outbox_command(settings: Settings, *, requeue_stale: bool = False) -> int:
    """``cauce outbox send``: send the pending mail once (the serving process does it periodically).

    Exit code 1 when no transport is configured or some mail failed; stale claims (a dispatcher
    died mid-send, so the mail may have left) are listed and only requeued on request.
    """
    from engine.bootstrap import build, outbox_dispatcher
    from engine.outbox import requeue_stale as requeue

    wiring = build(settings)
    try:
        dispatch = outbox_dispatcher(wiring)
        if dispatch is None:
            print("no mail transport: set CAUCE_SMTP_HOST (or CAUCE_MAIL_DIR in development)", file=sys.stderr)
            return 1
        if requeue_stale:
            print(f"{requeue(wiring.service.uow, clock=wiring.service.clock)} stale claim(s) requeued")
        report = dispatch()
    finally:
        wiring.db.dispose()
    print(f"{len(report.sent)} sent, {len(report.retrying)} to retry, {len(report.failed)} failed")
    for row_id in report.stale:
        print(f"stale claim (may have been sent; check the server log, then --requeue-stale): {row_id}")
    return 1 if report.failed else 0


def serve(settings: Settings, *, workers: int, threads: int) -> None:
    """Serve with gunicorn (a production WSGI server), the app built inside each worker."""
    from gunicorn.app.base import BaseApplication

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{settings.host}:{settings.port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            if Path("/dev/shm").is_dir():  # the worker's heartbeat file, touched every loop: keep it in memory
                self.cfg.set("worker_tmp_dir", "/dev/shm")
            if settings.access_log:
                self.cfg.set("accesslog", settings.access_log)

        def load(self) -> Any:
            from api import create_app

            return create_app(settings)

    print(f"cauce serving on http://{settings.host}:{settings.port} ({settings.database_url.split('://')[0]})")
    _Server().run()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cauce", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    db = sub.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade"])
    db.add_argument("revision", nargs="?", default="head")
    dep = sub.add_parser("deploy", help="deploy .bpmn files or folders (default: the bpmn/ folder)")
    dep.add_argument("paths", nargs="*", type=Path)
    aud = sub.add_parser("audit", help="check the tamper-evident history (exit code 1 on problems)")
    aud.add_argument("action", choices=["verify", "replay"],
                     help="verify: recompute the hash chains; replay: re-execute from the history")
    aud.add_argument("--instance", action="append", help="only this instance (repeatable)")
    aud.add_argument("--all", action="store_true", help="every instance (the default without --instance)")
    usr = sub.add_parser("user", help="users and their API tokens")
    usr.add_argument("action", choices=["add", "token", "revoke"],
                     help="add: create a user and print a token; token: print a new token; revoke: revoke all tokens")
    usr.add_argument("name")
    usr.add_argument("--role", action="append", default=[], help="role id or manual name (repeatable)")
    usr.add_argument("--email")
    usr.add_argument("--display-name")
    usr.add_argument("--location", help="where the person works (field-support assignment by location)")
    reg = sub.add_parser("register", help="the producers' register the CURP layouts are checked against")
    reg.add_argument("action", choices=["import"], help="import: load CURPs from a CSV or XLSX with a CURP column")
    reg.add_argument("file", type=Path)
    reg.add_argument("--replace", action="store_true",
                     help="the file is the whole register: remove CURPs it does not list (default: add and update)")
    out = sub.add_parser("outbox", help="the outgoing mail written by notify steps")
    out.add_argument("action", choices=["send"], help="send the pending mail now")
    out.add_argument("--requeue-stale", action="store_true",
                     help="first put claims a dead dispatcher left back to pending (they may be sent twice)")
    wrk = sub.add_parser("worker", help="run the async handlers (docs/handlers.md)")
    wrk.add_argument("--once", action="store_true", help="handle what is due now and exit")
    wrk.add_argument("--poll", type=float, default=5.0, help="seconds between looks for new work (default 5)")
    inc = sub.add_parser("incidents", help="list open incidents of async handlers (exit code 1 if any)")
    inc.add_argument("--all", action="store_true", help="resolved ones too")
    rep = sub.add_parser("report", help="indicators computed from the histories (docs/kpis.md)")
    rep.add_argument("action", choices=["kpis"], help="kpis: the KPI report, as JSON or CSV")
    rep.add_argument("--definition", help="only this definition key")
    rep.add_argument("--from", dest="started_from", help="instances started at or after (ISO 8601; UTC if no offset)")
    rep.add_argument("--to", dest="started_to", help="instances started before (ISO 8601)")
    rep.add_argument("--csv", action="store_true", help="CSV instead of JSON")
    for name, text in (("serve", "serve the API"), ("run", "upgrade the database, deploy bpmn/, serve")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--workers", type=int, default=1)
        p.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # SpiffWorkflow logs every task state change at INFO: a dozen lines per step would bury the
    # server's log and cost more CPU than the step's SQL. The history records what happened.
    logging.getLogger("spiff").setLevel(logging.WARNING)
    settings = Settings.from_env()

    if args.command == "db":
        db_upgrade(settings, args.revision)
        print(f"database at revision {args.revision}")
        return 0
    if args.command == "audit":
        from . import audit_cli

        if args.action == "replay":
            return audit_cli.replay(settings, None if args.all else args.instance)
        return audit_cli.verify(settings, args.instance)
    if args.command == "user":
        return user_command(settings, args)
    if args.command == "report":
        from .report_cli import kpis

        return kpis(settings, definition=args.definition, started_from=args.started_from,
                    started_to=args.started_to, as_csv=args.csv)
    if args.command == "register":
        from .register_cli import import_register

        return import_register(settings, args.file, replace=args.replace)
    if args.command in ("worker", "incidents"):
        from . import worker_cli

        if args.command == "worker":
            return worker_cli.worker(settings, once=args.once, poll_s=args.poll)
        return worker_cli.incidents(settings, show_all=args.all)
    if args.command == "outbox":
        return outbox_command(settings, requeue_stale=args.requeue_stale)
    if args.command == "deploy":
        return 1 if deploy(settings, args.paths or [settings.bpmn_dir]) else 0
    if args.command == "run":
        db_upgrade(settings)
        if deploy(settings, [settings.bpmn_dir]):
            return 1
    serve(settings, workers=args.workers, threads=args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
