"""Unknown query parameters are a 422 naming each one, on every route, never silently ignored:
a misspelt filter must not look like an answer to the question the client meant."""

from __future__ import annotations

from api.http.problems import FieldProblem
from tests.e2e.conftest import Api, created, fields_named, ok, problem


def test_a_misspelt_filter_is_422_naming_it_and_saying_what_the_route_accepts(
    sqlite_api: Api,
) -> None:
    officer = sqlite_api.user("officer", "olga")
    tenant = created(officer.post("/v1/tenants", json={"name": "Acme B.V."}))["id"]

    response = officer.get(f"/v1/tenants/{tenant}/access-log", params={"outcom": "refused"})

    body = problem(response, 422)
    assert body["errors"] == [FieldProblem(
        field="outcom", location="query", detail="is not a query parameter of this route"
    ).model_dump()]
    # The route's own filters and its dependencies' (paging, read-your-writes) are named.
    for accepted in ("outcome", "actor", "since", "until", "format", "after", "limit",
                     "min_position"):
        assert accepted in body["detail"]


def test_parameters_that_dependencies_read_are_known_to_every_route_that_uses_them(
    sqlite_api: Api,
) -> None:
    officer = sqlite_api.user("officer", "olga")
    position = created(officer.post("/v1/tenants", json={"name": "Acme B.V."}))["position"]

    listed = ok(officer.get(
        "/v1/tenants", params={"limit": 5, "after": "", "min_position": position}
    ))

    assert [t["name"] for t in listed["items"]] == ["Acme B.V."]
    assert fields_named(officer.get("/v1/tenants", params={"limt": 5})) == {"limt"}


def test_every_unknown_parameter_is_named_at_once(sqlite_api: Api) -> None:
    officer = sqlite_api.user("officer", "olga")
    response = officer.get("/v1/tenants", params={"limit": 5, "sort": "name", "page": 2})
    assert fields_named(response) == {"sort", "page"}


def test_routes_of_every_kind_refuse_them_health_audit_and_writes_alike(sqlite_api: Api) -> None:
    api = sqlite_api
    events = api.events()

    assert fields_named(api.anonymous().get("/healthz", params={"verbose": 1})) == {"verbose"}
    auditor = api.user("auditor", "aude")
    assert fields_named(auditor.get("/v1/audit/checkpoint", params={"size": 1})) == {"size"}
    officer = api.user("officer", "olga")
    response = officer.post("/v1/tenants", params={"dry_run": "true"}, json={"name": "Acme"})
    assert fields_named(response) == {"dry_run"}
    assert api.events() == events  # refused before anything was written


def test_a_route_without_query_parameters_says_it_takes_none(sqlite_api: Api) -> None:
    body = problem(sqlite_api.anonymous().get("/healthz", params={"x": 1}), 422)
    assert "takes no query parameters" in body["detail"]


def test_the_portal_refuses_an_unknown_parameter_with_a_page(sqlite_api: Api) -> None:
    client = sqlite_api.anonymous()

    response = client.get("/portal/login", params={"next": "https://evil.example"})

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "does not take next" in response.text
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert client.get("/portal/login", params={"notice": "logged-out"}).status_code == 200
