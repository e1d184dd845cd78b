"""An app per test on the test database, with an injected clock and no background scheduler.

Every endpoint but the health check and the API documents needs a bearer token, so ``client``
acts as a user holding ``admin``, ``process-owner`` and every staff role: tests about something
else than permissions run as someone allowed to do it. ``login`` makes a client for any other user.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from engine.clock import ManualClock
from engine.handler_registry import HandlerRegistry
from engine.settings import Settings

Login = Callable[..., FlaskClient]


@pytest.fixture
def app(settings: Settings, handlers: HandlerRegistry, clock: ManualClock) -> Iterator[Flask]:
    app = create_app(settings, clock=clock, handlers=handlers, scheduler=False)
    yield app
    app.extensions["cauce_db"].dispose()


@pytest.fixture
def login(app: Flask) -> Login:
    """``login(name, *roles)``: a client sending a new token of that user (created if needed)."""
    identity = app.extensions["cauce"].identity

    def make(name: str, *roles: str) -> FlaskClient:
        if identity.find_actor(name) is None:
            _, token = identity.create_user(name, list(roles))
        else:
            token = identity.issue_token(name)
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return client

    return make


@pytest.fixture
def client(app: Flask, login: Login) -> FlaskClient:
    catalog = app.extensions["cauce"].identity.catalog
    staff = [r.id for r in catalog.roles if r.kind == "staff"]
    return login("tester", "admin", "process-owner", *staff)


@pytest.fixture
def anonymous(app: Flask) -> FlaskClient:
    return app.test_client()
