"""The HTTP API in-process: `create_app` driven through FastAPI's TestClient (httpx).

`api` runs on every store of the `settings` fixture (memory, SQLite, PostgreSQL); `sqlite_api`
is for what does not depend on the store (tokens, bodies). `api.user(role, actor, tenant)`
gives a client that sends that person's bearer token.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.http.auth import mint_token
from api.settings import Settings
from domain.ledger import Ledger
from domain.clock import MovableClock
from tests.conftest import make_settings


@dataclass
class User:
    """One person calling the API with their token."""

    client: TestClient
    headers: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)


@dataclass
class Api:
    app: FastAPI
    client: TestClient
    settings: Settings
    clock: MovableClock

    def token(self, role: str, actor: str, tenant: object = None, ttl: int = 3600) -> str:
        return mint_token(self.settings, role, actor, tenant=tenant, ttl=ttl)

    def user(self, role: str, actor: str, tenant: object = None) -> User:
        return User(self.client, {"Authorization": f"Bearer {self.token(role, actor, tenant)}"})

    def anonymous(self) -> User:
        return User(self.client)

    @property
    def ledger(self) -> Ledger:
        return self.app.state.stores.ledger

    def events(self) -> int:
        """How many events the store holds (positions start at 1 and have no gaps here)."""
        return int(self.ledger.recorder.max_notification_id() or 0)

    def caught_up(self, position: int) -> None:
        assert self.app.state.read.wait_for(position, 10), f"read side stuck before {position}"


def open_api(settings: Settings, clock: MovableClock) -> Iterator[Api]:
    app = create_app(settings, clock=clock)
    with TestClient(app) as client:
        yield Api(app, client, settings, clock)


@pytest.fixture
def api(settings: Settings, clock: MovableClock) -> Iterator[Api]:
    """The app on each store of `settings`: memory, SQLite and PostgreSQL."""
    yield from open_api(settings, clock)


@pytest.fixture
def sqlite_api(tmp_path: Path, clock: MovableClock) -> Iterator[Api]:
    """The app on SQLite only, for behaviour that does not depend on the store."""
    settings = make_settings(
        f"sqlite:///{tmp_path}/ledger.sqlite", tmp_path / "var", poll_interval_ms=10
    )
    yield from open_api(settings, clock)


ROLES = (
    "none", "staff", "customer_own", "customer_other", "officer", "system", "auditor", "witness",
)


@dataclass
class Scene:
    """One of everything, made straight through the ledger (not the API under test)."""

    ids: dict[str, str]
    position: int

    @classmethod
    def build(cls, ledger: Ledger) -> "Scene":
        own = ledger.open_tenant("Own B.V.", "olga").aggregate.id
        other = ledger.open_tenant("Other B.V.", "olga").aggregate.id
        gone = ledger.open_tenant("Gone B.V.", "olga").aggregate.id
        ledger.terminate_tenant(gone, "olga")
        subject = ledger.register_subject("Jan", "jan@example.org", "crm", tenant_id=own).aggregate.id
        ledger.give_consent(subject, "info_mail", "web_form", "2026-01", "crm")
        second = ledger.register_subject("Piet", "piet@example.org", "crm", tenant_id=own).aggregate.id
        pending = ledger.request_access(own, "sam", "read", ["orders"], "ticket").aggregate.id
        granted = ledger.request_access(own, "sam", "read", ["orders"], "ticket").aggregate.id
        ledger.approve_access(granted, "carla")
        access = ledger.receive_data_request(subject, "access", "email", "olga").aggregate.id
        portable = ledger.receive_data_request(subject, "portability", "email", "olga").aggregate.id
        quoted = ledger.receive_data_request(second, "portability", "email", "olga").aggregate.id
        ledger.quote_data_request(quoted, 1000, "EUR", "olga")
        verified = ledger.receive_data_request(second, "access", "email", "olga").aggregate.id
        ledger.verify_identity(verified, "passport", "olga")
        incident = ledger.report_incident("Leak", "d", "low", [own], "olga")
        ids = {
            "T": own, "U": other, "X": gone, "S": subject, "R": pending, "G": granted,
            "D": access, "P": portable, "Q": quoted, "V": verified, "I": incident.aggregate.id,
        }
        return cls({k: str(v) for k, v in ids.items()}, incident.position)

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            return value.format(**self.ids)
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        return value


@dataclass
class World:
    """An app with one scene shared by a module's tests, and a fresh scene on demand."""

    settings: Settings
    client: TestClient
    ledger: Ledger
    read: Any
    shared: Scene

    def scene(self, fresh: bool) -> Scene:
        if not fresh:
            return self.shared
        scene = Scene.build(self.ledger)
        assert self.read.wait_for(scene.position, 10)
        return scene

    def headers(self, role: str, scene: Scene) -> dict[str, str]:
        actor, kind, tenant = {
            "none": (None, None, None),
            "staff": ("sam", "staff", None),
            "customer_own": ("carla", "customer", scene.ids["T"]),
            "customer_other": ("otto", "customer", scene.ids["U"]),
            "officer": ("olga", "officer", None),
            "system": ("crm", "system", None),
            "auditor": ("aude", "auditor", None),
            "witness": ("wanda", "witness", None),
        }[role]
        if actor is None:
            return {}
        return {"Authorization": f"Bearer {mint_token(self.settings, kind, actor, tenant=tenant)}"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One app (memory store) per test module, with a shared scene, for many quick requests."""
    folder: Path = tmp_path_factory.mktemp("world")
    settings = make_settings("memory://", folder / "var", poll_interval_ms=10)
    app = create_app(settings, clock=MovableClock())
    with TestClient(app) as client:
        ledger = app.state.stores.ledger
        shared = Scene.build(ledger)
        assert app.state.read.wait_for(shared.position, 10)
        yield World(settings, client, ledger, app.state.read, shared)


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return response.json()


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """Asserts an RFC 9457 problem answer with this status, and returns its body."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"], body
    return body


def fields_named(response: httpx.Response) -> set[str]:
    """The fields a 422 problem names."""
    body = problem(response, 422)
    return {error["field"] for error in body.get("errors", [])}
