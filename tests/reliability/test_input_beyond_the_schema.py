"""Bad input beyond what the schema describes: size, depth, odd characters, SQL, huge numbers.

Each answer is a 4xx problem a client can act on, never a 500, and nothing odd that a client
may legitimately send (control characters, right-to-left marks, quotes) is changed on its way
into the ledger and back out.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from api.app import create_app
from api.http.auth import mint_token
from api.http.limits import nested_deeper_than
from domain.clock import MovableClock
from tests.conftest import make_settings
from tests.e2e.conftest import (  # noqa: F401  (fixtures)
    Api,
    Scene,
    World,
    api,
    fields_named,
    problem,
    sqlite_api,
    world,
)
from tests.reliability.test_random_bodies import path_choices

MIB = 1024 * 1024
JSON_HEADERS = {"Content-Type": "application/json"}
ACCESS = {"scope": "read", "resources": ["orders"], "reason": "ticket", "duration_minutes": 60}


def created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return response.json()


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()


# --- size ----------------------------------------------------------------------------------


def test_a_body_over_one_mebibyte_is_413_and_records_nothing(sqlite_api: Api) -> None:
    officer = sqlite_api.user("officer", "olga")
    before = sqlite_api.events()
    body = b'{"name": "' + b"a" * MIB + b'"}'

    response = officer.post("/v1/tenants", content=body, headers=JSON_HEADERS)

    assert "larger than 1048576 bytes" in problem(response, 413)["detail"]
    assert sqlite_api.events() == before


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """`app` behind a real uvicorn on a free port, in a thread (TestClient would read a
    streamed body whole before the app sees it). Logging is left as the test set it up."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started:
                break
            time.sleep(0.02)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def test_a_chunked_body_over_one_mebibyte_is_413_before_it_has_all_been_read(
    tmp_path: Path, clock: MovableClock
) -> None:
    settings = make_settings(f"sqlite:///{tmp_path}/ledger.sqlite", tmp_path / "var")
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:  # no Content-Length: 64 MiB streams in 64 KiB chunks
        yield b'{"name": "'
        for number in range(1024):
            sent.append(number)
            yield b"a" * 65536
        yield b'"}'

    with served(create_app(settings, clock=clock)) as url:
        response = httpx.post(
            f"{url}/v1/tenants", content=chunks(), timeout=30,
            headers={**JSON_HEADERS, "Authorization": f"Bearer {mint_token(settings, 'officer', 'olga')}"},
        )

    problem(response, 413)
    assert len(sent) < 1024, "the whole body was read before it was refused"


def test_a_body_just_under_the_limit_is_judged_by_what_it_says(sqlite_api: Api) -> None:
    officer = sqlite_api.user("officer", "olga")
    body = b'{"name": "' + b"a" * (MIB - 20) + b'"}'
    assert len(body) <= MIB

    response = officer.post("/v1/tenants", content=body, headers=JSON_HEADERS)

    assert fields_named(response) == {"name"}  # too long a name, not too large a body


# --- depth ---------------------------------------------------------------------------------


def _nested(depth: int, kind: str) -> str:
    opening, closing = ("[", "]") if kind == "array" else ('{"a":', "}")
    return opening * depth + "1" + closing * depth


@pytest.mark.parametrize("depth", [65, 10_000, 100_000])
@pytest.mark.parametrize("kind", ["array", "object"])
def test_json_nested_too_deep_is_422_naming_the_body(world: World, kind: str, depth: int) -> None:
    scene = world.shared
    for role, method, path, wrapper in (
        ("officer", "POST", "/v1/tenants", '{{"name": "Acme", "location": {}}}'),
        ("system", "PUT", f"/v1/subjects/{scene.ids['S']}/consents/info_mail", '{{"status": {}}}'),
        ("officer", "PATCH", f"/v1/subjects/{scene.ids['S']}", "{}"),
    ):
        content = wrapper.format(_nested(depth, kind)).encode()
        response = world.client.request(
            method, path, content=content, headers={**world.headers(role, scene), **JSON_HEADERS}
        )
        assert fields_named(response) == {"body"}, (method, path, response.text[:300])
        assert "nested deeper than 64 levels" in response.json()["detail"]


def test_json_nested_64_levels_is_judged_by_the_schema_not_refused_for_depth(world: World) -> None:
    scene = world.shared
    content = f'{{"name": "Acme", "location": {_nested(63, "array")}}}'.encode()
    response = world.client.post(
        "/v1/tenants", content=content, headers={**world.headers("officer", scene), **JSON_HEADERS}
    )
    assert fields_named(response) == {"location"}


def test_brackets_inside_strings_do_not_count_as_depth(world: World) -> None:
    scene = world.shared
    name = "[{" * 45 + '\\"' + "]}" * 45  # 180 brackets and an escaped quote, all text
    content = f'{{"name": "{name}"}}'.encode()
    response = world.client.post(
        "/v1/tenants", content=content, headers={**world.headers("officer", scene), **JSON_HEADERS}
    )
    assert created(response)["status"] == "active"


def test_the_depth_count_skips_strings_and_escapes() -> None:
    assert not nested_deeper_than(b'{"a": "[[[[[[", "b": "\\"[[[[[["}', 2)
    assert nested_deeper_than(b'{"a": [[{"b": 1}]]}', 3)
    assert not nested_deeper_than(b'{"a": [[{"b": 1}]]}', 4)


# --- odd characters and SQL-looking text ---------------------------------------------------

ODD = "Acme \u202eV.B\u202c \u200fكلمة\u200e \x01\x07\x1b[31m\x7f \u0085x\u2028y \U0001f600 ‮end"
SQL = "Robert'); DROP TABLE stored_events; -- \" OR 1=1; DELETE FROM data_keys; /*"


@pytest.mark.parametrize("text", [ODD, SQL], ids=["control and right-to-left", "sql"])
def test_odd_names_and_reasons_are_stored_and_returned_exactly(api: Api, text: str) -> None:
    officer = api.user("officer", "olga")
    staff = api.user("staff", "sam")
    system = api.user("system", "crm")

    tenant = created(officer.post("/v1/tenants", json={"name": text}))
    moved = ok(officer.post(f"/v1/tenants/{tenant['id']}/location",
                            json={"location": "IE", "reason": text}))
    subject = created(system.post("/v1/subjects", json={
        "tenant_id": tenant["id"], "name": text, "email": "jan@example.org",
    }))
    request = created(staff.post(f"/v1/tenants/{tenant['id']}/access-requests",
                                 json={**ACCESS, "reason": text, "ticket": text}))
    customer = api.user("customer", "alice", tenant["id"])
    denied = ok(customer.post(f"/v1/access-requests/{request['id']}/deny", json={"reason": text}))

    position = {"min_position": max(moved["position"], subject["position"], denied["position"])}
    read_tenant = ok(officer.get(f"/v1/tenants/{tenant['id']}", params=position))
    assert read_tenant["name"] == text
    assert read_tenant["locations"][-1]["reason"] == text
    assert ok(officer.get(f"/v1/subjects/{subject['id']}", params={**position, "reason": "check"}))["name"] == text
    read_request = ok(customer.get(f"/v1/access-requests/{request['id']}", params=position))
    assert read_request["reason"] == text and read_request["ticket"] == text
    assert [step["detail"] for step in read_request["history"]][-1] == text
    assert any(item["name"] == text for item in ok(officer.get("/v1/tenants", params={
        **position, "limit": 1000}))["items"])


def test_sql_looking_text_leaves_every_table_standing(api: Api) -> None:
    officer = api.user("officer", "olga")
    before = api.events()
    created(officer.post("/v1/tenants", json={"name": SQL}))
    tenant = created(officer.post("/v1/tenants", json={"name": "Next B.V."}))
    assert api.events() == before + 2  # the events table is still there, and still written to

    customer = api.user("customer", "alice", tenant["id"])
    for value in ("' OR '1'='1", "sam'; DROP TABLE access_log; --", "%", "_"):
        answer = ok(customer.get(f"/v1/tenants/{tenant['id']}/access-log",
                                 params={"actor": value, "min_position": tenant["position"]}))
        assert answer["items"] == []  # matched literally: nobody of that name looked


# --- huge numbers --------------------------------------------------------------------------

HUGE = 10**30
BIG_INT = 2**63  # one past the largest BIGINT


def test_huge_numbers_in_bodies_are_422_not_a_server_error(api: Api) -> None:
    officer = api.user("officer", "olga")
    staff = api.user("staff", "sam")
    tenant = created(officer.post("/v1/tenants", json={"name": "Acme"}))
    customer = api.user("customer", "alice", tenant["id"])
    for number in (HUGE, BIG_INT, -BIG_INT, 1e308, 10**4000):
        request_body = {**ACCESS, "duration_minutes": number}
        content = json.dumps(request_body).encode() if number != 10**4000 else (
            json.dumps({**ACCESS, "duration_minutes": 0}).replace("0}", "1" + "0" * 4000 + "}")
        ).encode()
        response = staff.post(f"/v1/tenants/{tenant['id']}/access-requests", content=content,
                              headers=JSON_HEADERS)
        assert response.status_code == 422, (number if number != 10**4000 else "4001 digits",
                                              response.text[:300])
    request = created(staff.post(f"/v1/tenants/{tenant['id']}/access-requests", json=ACCESS))
    for number in (HUGE, BIG_INT):
        response = customer.post(f"/v1/access-requests/{request['id']}/approve",
                                 json={"duration_minutes": number})
        assert "duration_minutes" in fields_named(response)


# --- paging and positions ------------------------------------------------------------------

QUERY_CHECKS: dict[str, list[Any]] = {
    "limit": [HUGE, BIG_INT, 1001, 0, -1, "ten"],
    "min_position": [HUGE, BIG_INT, -1, "1e3"],
    "after": ["A" * 10_000, "%%%", "!!"],
    "index": [HUGE, BIG_INT, -1],
    "tree_size": [HUGE, BIG_INT, 0],
    "first": [HUGE, BIG_INT, 0],
    "second": [HUGE, BIG_INT, 0],
}
ROLES = ("officer", "auditor", "customer_own", "staff", "system")


def _get_operations(world: World) -> list[tuple[str, set[str]]]:
    schema = world.client.get("/openapi.json").json()
    return [
        (path, {p["name"] for p in op.get("parameters", []) if p["in"] == "query"})
        for path, operations in schema["paths"].items()
        for method, op in operations.items()
        if method == "get"
    ]


def _caller(world: World, path: str) -> dict[str, str] | None:
    """The headers of a role this route answers (not 401/403), or None for none."""
    for role in ROLES:
        headers = world.headers(role, world.shared)
        if world.client.get(path, headers=headers).status_code not in (401, 403):
            return headers
    return None


def test_huge_paging_and_position_values_are_422_naming_the_parameter(world: World) -> None:
    checked = 0
    for template, parameters in _get_operations(world):
        names = parameters & set(QUERY_CHECKS)
        if not names:
            continue
        filled = {name: values[0] for name, values in path_choices(template, world.shared).items()}
        path = template.format(**filled)
        headers = _caller(world, path)
        assert headers is not None, f"no role may read {path}"
        for name in names:
            for value in QUERY_CHECKS[name]:
                response = world.client.get(path, params={name: value}, headers=headers)
                assert name in fields_named(response), (path, name, value, response.text[:300])
                checked += 1
    assert checked > 100  # every list and every audit route was reached


def _cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


def test_a_cursor_carrying_huge_numbers_is_422_naming_after(api: Api) -> None:
    """A well-formed cursor (the shape a list gives out) whose numbers no column can hold,
    on every store: SQLite cannot bind them, PostgreSQL could compare them."""
    scene = Scene.build(api.ledger)
    api.caught_up(scene.position)
    world = World(api.settings, api.client, api.ledger, api.app.state.read, scene)
    checked, wrong = 0, []
    for template, parameters in _get_operations(world):
        if "after" not in parameters or "limit" not in parameters:
            continue
        filled = {name: values[0] for name, values in path_choices(template, scene).items()}
        path = template.format(**filled)
        headers = _caller(world, path)
        assert headers is not None
        given = api.client.get(path, params={"limit": 1}, headers=headers).json().get("next")
        if given is None:
            continue  # a one-page list: no cursor to imitate
        for number in (HUGE, BIG_INT, -BIG_INT - 1):
            if given.isdigit():  # the audit log's cursor is a plain position
                forged = str(number)
            else:
                parts = json.loads(base64.urlsafe_b64decode(given + "=" * (-len(given) % 4)))
                forged = _cursor(*(number if isinstance(p, int) else p for p in parts))
            response = api.client.get(path, params={"after": forged}, headers=headers)
            if response.status_code != 422 or fields_named(response) != {"after"}:
                wrong.append(f"{template} after={number}: {response.status_code} "
                             f"{response.text[:120]}")
            checked += 1
    assert wrong == [], "\n".join(wrong)
    assert checked >= 9, checked  # tenants, subjects, history, requests, access log, ...
