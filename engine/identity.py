"""Users, their roles and their API tokens.

A token is ``secrets.token_urlsafe(32)`` shown once to whoever created it; only its SHA-256 is
stored, so the table cannot be used to call the API. SHA-256 (not a slow password hash) is
enough because the token has 256 bits of entropy, and it lets a request find its token with one
indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from .errors import Conflict, InvalidInput, NotFound
from .models import ApiToken, Role, User, user_roles
from .roles import ADMIN, AUDITOR, PROCESS_OWNER, RoleCatalog
from .uow import UnitOfWork

# ``last_used_at`` is refreshed at most this often, so that reading the inbox is not a write.
_TOUCH_EVERY = timedelta(minutes=1)
# Most tokens a process remembers as checked (see IdentityService.authenticate).
_CHECKED_MAX = 10_000


@dataclass(frozen=True)
class Actor:
    """Who is calling: what the authorisation checks and the inbox query need, and nothing more."""

    name: str
    role_ids: frozenset[str]
    # Manual names of the staff roles held: lanes and candidate roles are matched by name.
    staff_roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.role_ids

    @property
    def is_auditor(self) -> bool:
        return AUDITOR in self.role_ids

    @property
    def is_process_owner(self) -> bool:
        return PROCESS_OWNER in self.role_ids

    @property
    def is_staff(self) -> bool:
        return bool(self.staff_roles)

    def may_read_all(self) -> bool:
        return self.is_admin or self.is_auditor


# One row per role the token's user holds (one with null roles if none); built once so that
# SQLAlchemy reuses its compiled form.
_TOKEN_LOOKUP = (
    select(ApiToken.id.label("token_id"), ApiToken.revoked_at, ApiToken.last_used_at, User.name, User.active,
           Role.id.label("role_id"), Role.name.label("role_name"), Role.kind.label("role_kind"))
    .join(User, User.id == ApiToken.user_id)
    .outerjoin(user_roles, user_roles.c.user_id == User.id)
    .outerjoin(Role, Role.id == user_roles.c.role_id)
    .where(ApiToken.token_hash == bindparam("digest"))
)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def actor_of(user: User) -> Actor:
    return Actor(name=user.name, role_ids=frozenset(r.id for r in user.roles),
                 staff_roles=frozenset(r.name for r in user.roles if r.kind == "staff"))


class IdentityService:
    def __init__(self, uow: UnitOfWork, catalog: RoleCatalog, *, clock: Callable[[], datetime] | None = None,
                 cache_s: float = 0.0) -> None:
        self.uow = uow
        self.catalog = catalog
        self.clock = clock or (lambda: datetime.now(UTC))
        # Tokens checked in the last ``cache_s`` seconds: {token digest: (trusted until, actor)}.
        # A staff client sends the same token with every request, and its lookup was a sixth of
        # an HTTP step; see Settings.auth_cache_s for what the window means for revocation.
        self.cache_for = timedelta(seconds=cache_s)
        self._checked: dict[str, tuple[datetime, Actor]] = {}

    def sync_roles(self, session: Session) -> None:
        """Make the roles table match the catalogue (new roles added, renamed ones updated)."""
        existing = {r.id: r for r in session.scalars(select(Role))}
        for info in self.catalog.roles:
            row = existing.get(info.id)
            if row is None:
                session.add(Role(id=info.id, name=info.name, kind=info.kind))
            elif (row.name, row.kind) != (info.name, info.kind):
                row.name, row.kind = info.name, info.kind
                self.forget_checked_tokens()  # actors carry the role names
        session.flush()

    def create_user(self, name: str, roles: Sequence[str], *, email: str | None = None,
                    display_name: str | None = None, location: str | None = None) -> tuple[User, str]:
        """Create a user holding ``roles`` (ids or manual names); returns it and its first token.
        ``location``: where the person works, for steps that assign by location."""
        name = name.strip()
        if not name:
            raise InvalidInput("A user needs a name.")
        infos = [self.catalog.resolve(r) for r in roles]
        with self.uow.write() as session:
            self.sync_roles(session)
            if session.scalar(select(User.id).where(User.name == name)) is not None:
                raise Conflict(f"User {name!r} already exists.", user=name)
            role_rows = [session.get(Role, info.id) for info in dict.fromkeys(infos)]
            user = User(name=name, display_name=display_name, email=email, active=True, created_at=self.clock(),
                        location=(location or "").strip() or None,
                        roles=[r for r in role_rows if r is not None])
            session.add(user)
            session.flush()
            token = self._issue(session, user)
            session.commit()
            return user, token

    def issue_token(self, name: str) -> str:
        with self.uow.write() as session:
            user = self._user(session, name)
            token = self._issue(session, user)
            session.commit()
            return token

    def revoke(self, name: str) -> int:
        """Revoke every live token of a user; returns how many."""
        with self.uow.write() as session:
            user = self._user(session, name)
            result = session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                                     .values(revoked_at=self.clock()))
            session.commit()
            self.forget_checked_tokens()
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def authenticate(self, token: str) -> Actor | None:
        """The actor a bearer token belongs to, or None (unknown, revoked, inactive user).

        Every request calls this. A token is read (one Core query joining token, user and roles)
        unless this process checked it less than ``cache_s`` seconds ago; only valid tokens are
        remembered, and a revocation through this service forgets them all at once.
        """
        digest = hash_token(token)
        now = self.clock()
        checked = self._checked.get(digest)
        if checked is not None and now < checked[0]:
            return checked[1]
        with self.uow.connect() as conn:
            rows = conn.execute(_TOKEN_LOOKUP, {"digest": digest}).all()
        if not rows:
            return None
        first = rows[0]
        if first.revoked_at is not None or not first.active:
            self._checked.pop(digest, None)
            return None
        held = [(r.role_id, r.role_name, r.role_kind) for r in rows if r.role_id is not None]
        actor = Actor(name=first.name, role_ids=frozenset(r[0] for r in held),
                      staff_roles=frozenset(r[1] for r in held if r[2] == "staff"))
        if first.last_used_at is None or now - first.last_used_at > _TOUCH_EVERY:
            with self.uow.write() as session:
                session.execute(update(ApiToken).where(ApiToken.id == first.token_id).values(last_used_at=now))
                session.commit()
        if self.cache_for:
            if len(self._checked) >= _CHECKED_MAX:
                self._checked.clear()  # bounded: a flood of distinct tokens costs lookups, not memory
            self._checked[digest] = (now + self.cache_for, actor)
        return actor

    def forget_checked_tokens(self) -> None:
        """Read every token again at its next use (after a revocation or a change of roles)."""
        self._checked.clear()

    def actor(self, name: str) -> Actor:
        with self.uow.read() as session:
            return actor_of(self._user(session, name))

    def find_actor(self, name: str) -> Actor | None:
        with self.uow.read() as session:
            user = session.scalar(select(User).where(User.name == name))
            return actor_of(user) if user is not None and user.active else None

    def list_users(self) -> list[User]:
        with self.uow.read() as session:
            return list(session.scalars(select(User).order_by(User.name)))

    def _user(self, session: Session, name: str) -> User:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise NotFound(f"No user is called {name!r}.", user=name)
        return user

    def _issue(self, session: Session, user: User) -> str:
        token = secrets.token_urlsafe(32)
        session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), created_at=self.clock()))
        return token
