"""The HTTP face of cauce: ``create_app`` wires settings, engine, handlers and routes."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api

from engine.bootstrap import build, outbox_dispatcher, step_handler_dependencies
from engine.clock import Clock
from engine.handler_registry import HandlerRegistry
from engine.scheduler import start_scheduler
from engine.settings import Settings

from . import auth
from .context import Cauce
from .errors import register_error_handlers
from .routes import audit, definitions, files, health, incidents, instances, reports, sla, tasks, users


def default_handlers(settings: Settings | None = None) -> HandlerRegistry:
    """The built-in handlers of ``handlers/``, registered by name (``settings``: where files live)."""
    from handlers.registry import register_builtin

    registry = HandlerRegistry()
    register_builtin(registry, **step_handler_dependencies(settings))
    return registry


def create_app(settings: Settings | None = None, *, clock: Clock | None = None,
               handlers: HandlerRegistry | None = None, scheduler: bool | None = None) -> Flask:
    """Build the app; tests pass their own settings, clock and handlers, production reads the env."""
    settings = settings or Settings.from_env()
    app = Flask("cauce")
    app.config.update(
        API_TITLE="cauce",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/",
        MAX_CONTENT_LENGTH=max(16 * 1024 * 1024, settings.max_upload_bytes + 64 * 1024),  # + multipart overhead
        JSON_SORT_KEYS=False,
    )
    # The default handlers are the complete set the diagrams run on: deploys are checked against them.
    wiring = build(settings, handlers=handlers if handlers is not None else default_handlers(settings), clock=clock,
                   check_handlers=handlers is None)
    api = Api(app, spec_kwargs={"info": {"description": "BPMN orchestration of the DGTIT procedures manual."}})
    app.register_blueprint(health.bp)
    for module in (definitions, instances, tasks, audit, users, files):
        api.register_blueprint(module.blp)
    api.register_blueprint(audit.history_blp)
    api.register_blueprint(reports.blp)
    api.register_blueprint(incidents.blp)
    api.register_blueprint(sla.blp)
    register_error_handlers(app)  # after Api, so ours win over flask-smorest's
    auth.install(app, api)
    running: Any = None
    if settings.scheduler_enabled if scheduler is None else scheduler:
        running = start_scheduler(wiring.service, worker=wiring.invocations, interval_s=settings.scheduler_interval_s)
        dispatch = outbox_dispatcher(wiring)
        if dispatch is not None:  # mail leaves shortly after the step that queued it
            running.scheduler.add_job(dispatch, "interval", seconds=settings.outbox_interval_s, id="cauce-outbox",
                                      max_instances=1, coalesce=True, replace_existing=True)
    app.extensions["cauce"] = Cauce(settings=settings, service=wiring.service, scheduler=running,
                                    identity=wiring.identity, inbox=wiring.inbox)
    app.extensions["cauce_db"] = wiring.db
    app.extensions["cauce_files"] = wiring.files
    app.extensions["cauce_incidents"] = wiring.incidents
    return app
