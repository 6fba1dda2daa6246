"""A tenant's mail contacts through the HTTP API, on every store: the approvers mailed a pending
access request and an incident notice, and the language of the tenant's mail."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from api.schemas.webhooks import Language
from projections.outbox.contacts import LANGUAGES
from tests.e2e.conftest import Api, User, created, fields_named, ok, problem


def _tenant(api: Api, name: str = "Acme B.V.") -> str:
    return created(api.user("officer", "olga").post("/v1/tenants", json={"name": name}))["id"]


def _customer(api: Api, tenant: str, actor: str = "carla") -> User:
    return api.user("customer", actor, tenant)


def test_a_customer_sets_its_approvers_and_language_and_reads_them_back(api: Api) -> None:
    tenant = _tenant(api)
    carla = _customer(api, tenant)
    path = f"/v1/tenants/{tenant}/contacts"
    empty = ok(carla.get(path))
    assert empty["approver_emails"] == [] and empty["language"] == "en"

    body = {"approver_emails": ["ciso@acme.example", "it@acme.example"], "language": "nl"}
    assert ok(carla.put(path, json=body))["approver_emails"] == body["approver_emails"]
    assert ok(carla.get(path))["language"] == "nl"
    assert ok(api.user("officer", "olga").get(path))["approver_emails"] == body["approver_emails"]


@pytest.mark.parametrize(("body", "field"), [
    ({"approver_emails": ["not an address"], "language": "en"}, "approver_emails"),
    ({"approver_emails": [], "language": "en"}, "approver_emails"),
    ({"approver_emails": [f"a{i}@acme.example" for i in range(21)], "language": "en"},
     "approver_emails"),
    ({"approver_emails": ["a@acme.example"], "language": "de"}, "language"),
])
def test_contacts_that_are_not_addresses_or_a_known_language_are_refused_by_name(
    api: Api, body: dict[str, Any], field: str,
) -> None:
    tenant = _tenant(api)
    response = _customer(api, tenant).put(f"/v1/tenants/{tenant}/contacts", json=body)
    assert fields_named(response) == {field}


def test_another_tenants_contacts_are_not_found_and_a_closed_tenants_are_not_changed(
    api: Api,
) -> None:
    own, other = _tenant(api, "Own"), _tenant(api, "Other")
    body = {"approver_emails": ["ciso@acme.example"], "language": "en"}
    otto = _customer(api, other, "otto")
    problem(otto.get(f"/v1/tenants/{own}/contacts"), 404)
    problem(otto.put(f"/v1/tenants/{own}/contacts", json=body), 404)
    olga = api.user("officer", "olga")
    ok(olga.post(f"/v1/tenants/{own}/terminate"))
    problem(olga.put(f"/v1/tenants/{own}/contacts", json=body), 409)
    problem(_customer(api, own).get(f"/v1/tenants/{own}/contacts"), 409)


def test_the_api_offers_exactly_the_languages_the_mail_is_written_in() -> None:
    assert get_args(Language) == LANGUAGES
