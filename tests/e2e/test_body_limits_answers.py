"""The body limits (api/http/limits.py) as a client sees them: a refused body is a whole problem
answer (RFC 9457) naming the path it was sent to and, for a 422, the body as the field and its
location. Found by `make mutate`: both answers could lose their `instance`, and the 422 its
field's location, with every test green. (The middleware on its own:
tests/unit/test_body_limits_middleware.py.)"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Api, problem


def test_a_body_over_the_limit_is_a_413_problem_naming_the_path_and_closing(
    sqlite_api: Api
) -> None:
    officer = sqlite_api.user("officer", "olga")
    sent = b'{"name": "' + b"a" * (1024 * 1024) + b'"}'

    response = officer.post(
        "/v1/tenants", content=sent, headers={"Content-Type": "application/json"}
    )

    body = problem(response, 413)
    assert body["detail"] == "the request body is larger than 1048576 bytes; send less"
    assert body["instance"] == "/v1/tenants"
    assert response.headers["connection"] == "close"


@pytest.mark.parametrize("content_type", [
    None, "application/json; charset=utf-8", "application/merge-patch+json",
], ids=["none", "json-with-charset", "a-json-suffix"])
def test_a_body_nested_too_deep_is_a_422_problem_naming_the_body_and_the_path(
    sqlite_api: Api, content_type: str | None
) -> None:
    officer = sqlite_api.user("officer", "olga")
    headers = {} if content_type is None else {"Content-Type": content_type}
    deep = b'{"name": "Acme", "location": ' + b"[" * 100 + b"]" * 100 + b"}"

    response = officer.post("/v1/tenants", content=deep, headers=headers)

    detail = "is nested deeper than 64 levels of arrays and objects"
    body = problem(response, 422)
    assert body["detail"] == f"body: {detail}"
    assert body["errors"] == [{"field": "body", "location": "body", "detail": detail}]
    assert body["instance"] == "/v1/tenants"
