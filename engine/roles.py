"""The roles of the manual and of cauce, read from ``bpmn/roles.yaml``.

Lanes are the manual's responsible roles, and the inbox matches a task to a user through them, so
a lane whose name is misspelt would silently give its tasks to nobody. The catalogue is therefore
checked at deploy time: every lane name and every ``candidateRoles`` entry must be a known role.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from lxml import etree

from .errors import InvalidDefinition, NotFound

DEFAULT_ROLES_FILE = Path(__file__).resolve().parent.parent / "bpmn" / "roles.yaml"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

# The system roles; their ids are what the authorisation table names.
PROCESS_OWNER, AUDITOR, ADMIN = "process-owner", "auditor", "admin"


@dataclass(frozen=True)
class RoleInfo:
    id: str
    name: str
    kind: str  # staff | system


class RoleCatalog:
    """Every known role, looked up by id or by the name the manual writes."""

    def __init__(self, roles: Iterable[RoleInfo]) -> None:
        self.roles = list(roles)
        self.by_id = {r.id: r for r in self.roles}
        self.by_name = {r.name: r for r in self.roles}

    @classmethod
    def load(cls, path: Path = DEFAULT_ROLES_FILE) -> RoleCatalog:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        roles = [RoleInfo(id=str(item["id"]), name=str(item["name"]), kind=kind)
                 for kind in ("staff", "system") for item in raw.get(kind) or []]
        ids = [r.id for r in roles]
        names = [r.name for r in roles]
        if len(set(ids)) != len(ids) or len(set(names)) != len(names):
            raise ValueError(f"{path}: role ids and names must be unique")
        return cls(roles)

    def resolve(self, id_or_name: str) -> RoleInfo:
        """A role by its id or its manual name (what ``cauce user add --role`` accepts)."""
        found = self.by_id.get(id_or_name) or self.by_name.get(id_or_name.strip())
        if found is None:
            raise NotFound(f"No role is called {id_or_name!r}; see bpmn/roles.yaml for ids and names.",
                           role=id_or_name)
        return found

    def check_document(self, xml: bytes) -> None:
        """Refuse a diagram whose lanes or candidate roles name an unknown role."""
        root = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True))
        for lane in root.iter(f"{{{BPMN_NS}}}lane"):
            name = (lane.get("name") or "").strip()
            if name and name not in self.by_name:
                raise InvalidDefinition(
                    f"Lane {lane.get('id')!r} is named {name!r}, which is not a known role; add it to "
                    "bpmn/roles.yaml or use the manual's name.", element_id=lane.get("id"), role=name)
        for prop in root.xpath("//spiffworkflow:property[@name='candidateRoles']", namespaces=_NS):
            owner = next((a for a in prop.iterancestors() if a.get("id") is not None), None)
            element_id = owner.get("id") if owner is not None else None
            for name in (r.strip() for r in (prop.get("value") or "").split(";")):
                if name and name not in self.by_name:
                    raise InvalidDefinition(
                        f"Element {element_id!r} lists the candidate role {name!r}, which is not a known role.",
                        element_id=element_id, role=name)
