"""Parsed specs, cached per definition version, and the bundle an instance runs on.

Parsing costs milliseconds; loading an instance must not. A definition version never changes
once deployed, so its parsed spec is cached by id for the life of the process.
"""

from __future__ import annotations

from threading import Lock
from typing import NamedTuple

from SpiffWorkflow.specs.WorkflowSpec import WorkflowSpec
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from .errors import InvalidInput
from .forms import Form
from .models import Definition
from .parsing import ParsedDefinition, parse_definition
from .runtime import WorkflowRuntime


class SpecStore:
    def __init__(self, runtime: WorkflowRuntime) -> None:
        self._runtime = runtime
        self._cache: dict[int, ParsedDefinition] = {}
        self._lock = Lock()

    def parsed(self, definition: Definition) -> ParsedDefinition:
        cached = self._cache.get(definition.id)
        if cached is not None:
            return cached
        parsed = parse_definition(definition.bpmn_xml.encode(), source_name=definition.source_name or definition.key)
        self._runtime.instrument([parsed.spec, *parsed.local_specs.values()])
        with self._lock:
            return self._cache.setdefault(definition.id, parsed)

    def pin_called(self, session: Session, definition: Definition | DefinitionHead) -> dict[str, int]:
        """Latest version of every process this definition calls, transitively."""
        pinned: dict[str, int] = {}
        pending = list(self.parsed_id(session, definition.id).called_keys)
        while pending:
            key = pending.pop()
            if key in pinned:
                continue
            callee = latest_head(session, key)
            if callee is None:
                raise InvalidInput(
                    f"Process {definition.key!r} calls {key!r}, which is not deployed. "
                    "Deploy its diagram first.", missing=key,
                )
            pinned[key] = callee.id
            pending.extend(self.parsed_id(session, callee.id).called_keys)
        return pinned

    def parsed_id(self, session: Session, definition_id: int) -> ParsedDefinition:
        """By id, without loading the definition row when the parsed spec is cached (every step)."""
        return self._cache.get(definition_id) or self.parsed(_get(session, definition_id))

    def bundle(self, session: Session, definition_id: int,
               called: dict[str, int]) -> tuple[WorkflowSpec, dict[str, WorkflowSpec]]:
        top = self.parsed_id(session, definition_id)
        subprocess_specs = dict(top.local_specs)
        for key, callee_id in called.items():
            callee = self.parsed_id(session, callee_id)
            subprocess_specs[key] = callee.spec
            subprocess_specs.update(callee.local_specs)
        return top.spec, subprocess_specs

    def form_for(self, session: Session, definition_id: int, called: dict[str, int], process_key: str,
                 element_id: str) -> Form | None:
        """The form of a user task, looked up in the definition that holds its process."""
        holder = called.get(process_key, definition_id)
        return self.parsed_id(session, holder).forms.get(element_id)


class DefinitionHead(NamedTuple):
    """What starting an instance needs of a definition version (its parsed spec is cached by id)."""

    id: int
    key: str
    version: int


_definitions = Definition.__table__
# Core, built once: every start looks the latest version up, and an ORM entity costs more than the query.
_LATEST_HEAD = (
    select(_definitions.c.id, _definitions.c.key, _definitions.c.version)
    .where(_definitions.c.key == bindparam("key")).order_by(_definitions.c.version.desc()).limit(1)
)


def latest_head(session: Session, key: str) -> DefinitionHead | None:
    """Id and version of the latest version of ``key``, read in the session's transaction."""
    row = session.connection().execute(_LATEST_HEAD, {"key": key}).first()
    return DefinitionHead(row.id, row.key, row.version) if row is not None else None


def latest(session: Session, key: str) -> Definition | None:
    return session.scalars(
        select(Definition).where(Definition.key == key).order_by(Definition.version.desc()).limit(1)
    ).first()


def _get(session: Session, definition_id: int) -> Definition:
    definition = session.get(Definition, definition_id)
    if definition is None:
        raise InvalidInput(f"Definition {definition_id} does not exist.")
    return definition
