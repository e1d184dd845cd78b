"""Authentication and authorisation, in one place.

Every request but the health check and the API documents carries ``Authorization: Bearer
<token>``; the token names a user and the user's roles. What each role may call is the table
:data:`PERMISSIONS` (endpoint and method -> allowed roles), checked before the view runs, so a
new endpoint cannot be reachable by accident: one missing from the table is admin-only, and a
test fails until it is classified. Finer rules that depend on the task itself (is it yours, do
you hold its lane's role) live in ``engine.inbox``, because they need the task row under a lock.
"""

from __future__ import annotations

from flask import Flask, g, jsonify, request
from flask.typing import ResponseReturnValue
from flask_smorest import Api

from engine.errors import Forbidden
from engine.identity import Actor
from engine.roles import ADMIN, AUDITOR, PROCESS_OWNER

from .context import identity
from .errors import error_body

# Pseudo-roles of the table: ANY is every authenticated user; STAFF is anyone holding a role of
# the manual (a lane), i.e. someone who works tasks and starts procedures.
ANY, STAFF = "any", "staff"
OVERSIGHT = frozenset({AUDITOR, PROCESS_OWNER, ADMIN})

PUBLIC_PATHS = ("/healthz", "/api/openapi.json")
PUBLIC_PREFIXES = ("/api/docs",)

PERMISSIONS: dict[tuple[str, str], frozenset[str]] = {
    ("definitions.Definitions", "GET"): frozenset({ANY}),
    ("definitions.Definitions", "POST"): frozenset({PROCESS_OWNER}),
    ("definitions.DefinitionDetail", "GET"): frozenset({ANY}),
    ("definitions.DefinitionXml", "GET"): frozenset({ANY}),
    ("instances.Instances", "GET"): frozenset({ANY}),
    ("instances.Instances", "POST"): frozenset({STAFF}),
    ("instances.InstanceDetail", "GET"): frozenset({ANY}),
    ("instances.InstanceCancel", "POST"): frozenset({PROCESS_OWNER, ADMIN}),
    ("instances.InstanceRetry", "POST"): frozenset({PROCESS_OWNER, ADMIN}),
    ("tasks.Tasks", "GET"): frozenset({ANY}),
    ("tasks.TaskDetail", "GET"): frozenset({ANY}),
    ("tasks.TaskForm", "GET"): frozenset({ANY}),
    ("tasks.TaskComments", "GET"): frozenset({ANY}),
    ("tasks.TaskComments", "POST"): frozenset({STAFF}),
    ("tasks.TaskClaim", "POST"): frozenset({STAFF}),
    ("tasks.TaskUnclaim", "POST"): frozenset({STAFF, ADMIN}),
    ("tasks.TaskAssign", "POST"): frozenset({STAFF, ADMIN}),
    ("tasks.TaskComplete", "POST"): frozenset({STAFF}),
    ("audit.Verify", "GET"): OVERSIGHT,
    ("audit.Export", "GET"): OVERSIGHT,
    ("reports.Kpis", "GET"): OVERSIGHT,
    ("instance_history.InstanceEvents", "GET"): OVERSIGHT,
    # Replay re-executes in memory and writes nothing, so an auditor may run it.
    ("instance_history.InstanceReplay", "POST"): OVERSIGHT,
    ("instance_history.InstanceStateAt", "GET"): OVERSIGHT,
    ("instance_history.InstanceConformance", "GET"): OVERSIGHT,
    # Incidents (failed async handlers): oversight reads them; the process owner and admin act.
    ("incidents.Incidents", "GET"): OVERSIGHT,
    ("incidents.IncidentDetail", "GET"): OVERSIGHT,
    ("incidents.IncidentRetry", "POST"): frozenset({PROCESS_OWNER, ADMIN}),
    ("incidents.IncidentResolve", "POST"): frozenset({PROCESS_OWNER, ADMIN}),
    ("sla.SlaClocks", "GET"): frozenset({ANY}),  # SLA clocks: no process data, like the inbox's due dates
    ("users.Me", "GET"): frozenset({ANY}),
    ("users.Roles", "GET"): frozenset({ANY}),
    ("users.Users", "GET"): frozenset({ADMIN}),
    ("users.Users", "POST"): frozenset({ADMIN}),
    # Files travel with procedures: staff upload them (layouts, certificates, oficios); anyone
    # authenticated reads them, as anyone may read the instances that reference them.
    ("files.Files", "POST"): frozenset({STAFF}),
    ("files.FileDetail", "GET"): frozenset({ANY}),
    ("files.FileContent", "GET"): frozenset({ANY}),
}
_UNCLASSIFIED = frozenset({ADMIN})


def allowed(actor: Actor, endpoint: str, method: str) -> bool:
    roles = PERMISSIONS.get((endpoint, method), _UNCLASSIFIED)
    return ANY in roles or (STAFF in roles and actor.is_staff) or bool(roles & actor.role_ids)


def current_actor() -> Actor:
    """The authenticated caller of this request (set before every protected view)."""
    actor: Actor | None = g.get("actor")
    if actor is None:  # a view reached without the check: refuse rather than act as nobody
        raise Forbidden("No authenticated user.")
    return actor


def _is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def install(app: Flask, api: Api) -> None:
    """Check every request, and declare the bearer scheme in the OpenAPI document."""
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer",
                                                       "description": "A token from `cauce user add|token`."})
    api.spec.options["security"] = [{"bearerAuth": []}]

    @app.before_request
    def _authenticate() -> ResponseReturnValue | None:
        if _is_public(request.path) or request.method == "OPTIONS":
            return None
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        actor = None
        if scheme.lower() == "bearer" and token.strip():
            actor = identity().authenticate(token.strip())
        if actor is None:
            response = jsonify(error_body("unauthorized", "Send 'Authorization: Bearer <token>' with a valid token "
                                          "(create one with `cauce user add` or `cauce user token`)."))
            response.status_code = 401
            response.headers["WWW-Authenticate"] = 'Bearer realm="cauce"'
            return response
        g.actor = actor
        if request.endpoint is None:
            return None  # an unknown path: let routing answer 404 / 405
        method = "GET" if request.method == "HEAD" else request.method
        if not allowed(actor, request.endpoint, method):
            response = jsonify(error_body("forbidden", f"Your roles do not allow {method} {request.path}.",
                                          {"roles": sorted(actor.role_ids)}))
            response.status_code = 403
            return response
        return None
