"""Random bodies at every route of the OpenAPI schema that takes one: never a 5xx.

Hypothesis throws JSON of any shape (and bytes that are not JSON at all) at every POST, PUT
and PATCH, each sent with the token of a role that may call the route and real ids in the
path, so the body is what gets judged. Half of the JSON objects use the route's own field
names with values of any type, or the values the schema allows, so that many bodies get past
validation into the domain, where a 500 would hide. Bounded: a few hundred examples in all.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.conftest import Scene, World, world  # noqa: F401  (the fixture)

# The role that may call each route that takes a body ("none": no token at all).
BODY_ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/v1/tenants"): "officer",
    ("POST", "/v1/tenants/{tenant_id}/terminate"): "officer",
    ("POST", "/v1/tenants/{tenant_id}/reactivate"): "officer",
    ("POST", "/v1/tenants/{tenant_id}/location"): "officer",
    ("POST", "/v1/subjects"): "system",
    ("PATCH", "/v1/subjects/{subject_id}"): "officer",
    ("POST", "/v1/subjects/{subject_id}/unsubscribe-links"): "system",
    ("POST", "/v1/subjects/{subject_id}/requests"): "officer",
    ("PUT", "/v1/subjects/{subject_id}/consents/{purpose}"): "system",
    ("POST", "/v1/consents:batch"): "system",
    ("POST", "/v1/requests/{request_id}/verify-identity"): "officer",
    ("POST", "/v1/requests/{request_id}/extend"): "officer",
    ("POST", "/v1/requests/{request_id}/quote"): "officer",
    ("POST", "/v1/requests/{request_id}/accept-quote"): "officer",
    ("POST", "/v1/requests/{request_id}/decline-quote"): "officer",
    ("POST", "/v1/requests/{request_id}/fulfil"): "officer",
    ("POST", "/v1/requests/{request_id}/reject"): "officer",
    ("POST", "/v1/tenants/{tenant_id}/access-requests"): "staff",
    ("POST", "/v1/access-requests/{request_id}/approve"): "customer_own",
    ("POST", "/v1/access-requests/{request_id}/deny"): "customer_own",
    ("POST", "/v1/access-requests/{request_id}/revoke"): "customer_own",
    ("POST", "/v1/access-requests/{request_id}/accesses"): "staff",
    ("POST", "/v1/tenants/{tenant_id}/disclosures"): "officer",
    ("POST", "/v1/incidents"): "officer",
    ("POST", "/v1/incidents/{incident_id}/notifications"): "officer",
    ("POST", "/v1/unsubscribe/{token}"): "none",
    ("PUT", "/v1/tenants/{tenant_id}/contacts"): "officer",
    ("POST", "/v1/webhooks"): "officer",
    ("PATCH", "/v1/webhooks/{webhook_id}"): "officer",
    ("POST", "/v1/webhooks/{webhook_id}/rotate-secret"): "officer",
    ("POST", "/v1/webhook-deliveries/{delivery_id}/redeliver"): "officer",
    ("POST", "/v1/systems"): "officer",
    ("POST", "/v1/propagations/{propagation_id}/confirm"): "system",
    ("POST", "/v1/propagations/{propagation_id}/failure"): "system",
    ("POST", "/v1/requests/{request_id}/propagation/waive"): "officer",
    ("POST", "/v1/sites"): "officer",
    ("PATCH", "/v1/sites/{site_id}"): "officer",
    ("POST", "/v1/subjects/{subject_id}/visitors"): "officer",
    ("POST", "/v1/banner/{site_key}/choices"): "none",
}
WRITE_METHODS = ("post", "put", "patch")
UNSUBSCRIBE_TOKEN = "bm90LWEtdG9rZW4"  # well-formed base64url, signed by nobody
NOBODY = "00000000-0000-4000-8000-000000000000"

# Which scene ids a path parameter may take (see tests/e2e/conftest.py Scene).
DATA_REQUESTS = ("D", "P", "Q", "V")
ACCESS_REQUESTS = ("R", "G")


def path_choices(template: str, scene: Scene) -> dict[str, list[str]]:
    """For each parameter of `template`, the real values it may be filled with."""
    request_ids = ACCESS_REQUESTS if template.startswith("/v1/access-requests/") else DATA_REQUESTS
    options = {
        "tenant_id": [scene.ids["T"], scene.ids["X"]],
        "subject_id": [scene.ids["S"]],
        "request_id": [scene.ids[name] for name in request_ids],
        "incident_id": [scene.ids["I"]],
        "purpose": ["info_mail", "profiling"],
        "token": [UNSUBSCRIBE_TOKEN],
        "record_id": [NOBODY],
        # The outbox's own ids: none of the scene's, so the body is judged, then a 404.
        "webhook_id": [NOBODY],
        "system_id": [NOBODY],
        "delivery_id": ["msg_none"],
        "propagation_id": ["msg_none"],
        # The banner's sites: none of the scene's (a site key is well formed, and nobody's).
        "site_id": [NOBODY],
        "site_key": ["site_" + "A" * 22],
    }
    names = [part[1:-1] for part in template.split("/") if part.startswith("{")]
    return {name: options[name] for name in names}


def write_operations(world: World) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path template, operation) of every POST, PUT and PATCH in the schema."""
    schema = world.client.get("/openapi.json").json()
    return [
        (method.upper(), path, operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if method in WRITE_METHODS
    ]


def _properties(operation: dict[str, Any], schema: dict[str, Any]) -> dict[str, list[Any]]:
    """The body's field names, each with the values its schema names (enums, examples)."""
    content = operation.get("requestBody", {}).get("content", {})
    body = content.get("application/json", {}).get("schema", {})
    body = _resolve(body, schema)
    fields: dict[str, list[Any]] = {}
    for name, prop in body.get("properties", {}).items():
        values: list[Any] = []
        for option in [prop, *prop.get("anyOf", [])]:
            option = _resolve(option, schema)
            values += option.get("enum", [])
            values += option.get("examples", [])
        fields[name] = values
    return fields


def _resolve(node: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if not ref:
        return node
    found: Any = schema
    for part in ref.lstrip("#/").split("/"):
        found = found[part]
    return found


SCALARS = (
    st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats() | st.text(max_size=40)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def _body_strategy(fields: dict[str, list[Any]], scene: Scene) -> st.SearchStrategy[Any]:
    ids = list(scene.ids.values())
    value = {
        name: JSON | st.sampled_from(known + ids + ["2026-01-05T09:00:00Z", "x" * 300])
        for name, known in fields.items()
    }
    shaped = st.fixed_dictionaries({}, optional=value) if value else st.just({})
    return JSON | shaped


def test_every_write_route_is_in_the_role_table(world: World) -> None:
    found = {(method, path) for method, path, _ in write_operations(world)}
    assert found == set(BODY_ROUTES), (
        f"routes without a role here: {sorted(found - set(BODY_ROUTES))}; "
        f"gone from the API: {sorted(set(BODY_ROUTES) - found)}"
    )


def _targets(world: World) -> list[tuple[str, str, dict[str, list[str]], dict[str, list[Any]], str]]:
    schema = world.client.get("/openapi.json").json()
    scene = world.shared
    return [
        (method, path, path_choices(path, scene), _properties(operation, schema),
         BODY_ROUTES[(method, path)])
        for method, path, operation in write_operations(world)
    ]


def _send(world: World, method: str, template: str, filled: dict[str, str], role: str,
          content: bytes) -> int:
    path = template.format(**filled)
    headers = {**world.headers(role, world.shared), "Content-Type": "application/json"}
    response = world.client.request(method, path, content=content, headers=headers)
    assert response.status_code < 500, (method, path, content[:300], response.text[:500])
    return response.status_code


@st.composite
def _request(draw: Any, targets: list[Any], scene: Scene) -> tuple[Any, ...]:
    method, template, choices, fields, role = draw(st.sampled_from(targets))
    filled = {name: draw(st.sampled_from(values)) for name, values in choices.items()}
    body = draw(_body_strategy(fields, scene))
    return method, template, filled, role, body


def test_random_json_bodies_never_get_a_server_error(world: World) -> None:
    targets = _targets(world)
    statuses: set[int] = set()

    @given(request=_request(targets, world.shared))
    @settings(max_examples=300, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(request: tuple[Any, ...]) -> None:
        method, template, filled, role, body = request
        # allow_nan: Python's JSON (and so FastAPI) reads NaN and Infinity; they must not hurt.
        content = json.dumps(body, allow_nan=True).encode()
        statuses.add(_send(world, method, template, filled, role, content))

    run()
    # The run reached past validation at least sometimes (a test that only ever saw 422
    # would prove little about the domain).
    assert statuses - {422}, statuses


def test_random_bytes_as_a_body_never_get_a_server_error(world: World) -> None:
    targets = _targets(world)

    @given(
        target=st.sampled_from(targets),
        content=st.binary(max_size=200) | st.text(max_size=200).map(str.encode),
        pick=st.randoms(use_true_random=False),
    )
    @settings(max_examples=150, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(target: tuple[Any, ...], content: bytes, pick: Any) -> None:
        method, template, choices, _, role = target
        filled = {name: pick.choice(values) for name, values in choices.items()}
        _send(world, method, template, filled, role, content)

    run()
