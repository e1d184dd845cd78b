"""An app per test on the test database, with an injected clock and no background scheduler."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from engine.clock import ManualClock
from engine.handler_registry import HandlerRegistry
from engine.settings import Settings


@pytest.fixture
def app(settings: Settings, handlers: HandlerRegistry, clock: ManualClock) -> Iterator[Flask]:
    app = create_app(settings, clock=clock, handlers=handlers, scheduler=False)
    yield app
    app.extensions["cauce_db"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
