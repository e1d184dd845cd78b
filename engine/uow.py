"""Unit of work: one transaction per use case, rolled back unless committed."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker


class UnitOfWork:
    """``with uow.begin() as session: …; session.commit()`` — nothing lands without commit."""

    def __init__(self, readers: sessionmaker[Session], writers: sessionmaker[Session]) -> None:
        self._readers = readers
        self._writers = writers

    def read(self) -> _Scope:
        return _Scope(self._readers)

    def write(self) -> _Scope:
        return _Scope(self._writers)

    def connect(self) -> Connection:
        """A Core connection for a read that needs no ORM objects (``with uow.connect() as conn``).

        Authentication runs on every request; building ORM objects for it cost more than the query.
        """
        bind = self._readers.kw["bind"]
        return bind.connect()


class _Scope:
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory
        self.session: Session | None = None

    def __enter__(self) -> Session:
        self.session = self._factory()
        return self.session

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        assert self.session is not None
        # close() rolls back whatever was not committed and detaches the loaded objects without
        # expiring them, so callers can still read what the use case returned.
        self.session.close()
