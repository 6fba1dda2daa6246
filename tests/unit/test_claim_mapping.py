"""Claims as Entra ID, Keycloak and others spell them become one caller, or a clear refusal
(api/http/claims.py; docs/identity.md shows these mappings)."""

from __future__ import annotations

from uuid import UUID

import pytest

from api.http.callers import BadToken
from api.http.claims import ClaimMapping
from domain.vocabulary import Role

TENANT = UUID("5b2f9c1e-4d7a-4e0b-9a51-2c6f0d8e7a13")
ENTRA = ClaimMapping(
    role_claim="roles",
    role_map={"Ledger.Staff": Role.STAFF, "Ledger.Officer": Role.OFFICER,
              "Ledger.CustomerAdmin": Role.CUSTOMER},
    tenant_claim="tid", tenant_map={"72f988bf-86f1-41af-91ab-2d7cd011db47": TENANT},
    actor_claim="preferred_username",
)
KEYCLOAK = ClaimMapping(
    role_claim="realm_access.roles", role_map={"ledger-auditor": Role.AUDITOR,
                                               "ledger-customer": Role.CUSTOMER},
    tenant_claim="organization.id", actor_claim="preferred_username",
)


def test_an_entra_id_app_role_and_directory_map_to_a_customer_of_a_tenant() -> None:
    caller = ENTRA.caller({
        "sub": "AAAAx", "preferred_username": "ada@customer.example",
        "roles": ["Ledger.CustomerAdmin"], "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47",
    })

    assert (caller.actor, caller.role, caller.tenant) == ("ada@customer.example", Role.CUSTOMER, TENANT)


def test_a_keycloak_realm_role_inside_realm_access_maps_and_other_roles_are_ignored() -> None:
    caller = KEYCLOAK.caller({
        "preferred_username": "audrey",
        "realm_access": {"roles": ["offline_access", "uma_authorization", "ledger-auditor"]},
    })

    assert (caller.actor, caller.role, caller.tenant) == ("audrey", Role.AUDITOR, None)


def test_a_providers_witness_role_maps_to_a_witness_without_a_tenant() -> None:
    mapping = ClaimMapping(role_claim="groups", role_map={"ledger-witness": Role.WITNESS})
    caller = mapping.caller({"sub": "monitor-1", "groups": ["ledger-witness"]})

    assert (caller.actor, caller.role, caller.tenant) == ("monitor-1", Role.WITNESS, None)
    assert ClaimMapping().role({"roles": ["witness"]}) is Role.WITNESS


def test_a_keycloak_organisation_claim_holding_the_tenant_id_names_the_tenant() -> None:
    caller = KEYCLOAK.caller({
        "preferred_username": "cora", "realm_access": {"roles": ["ledger-customer"]},
        "organization": {"id": str(TENANT)},
    })

    assert caller.tenant == TENANT


def test_a_namespaced_claim_with_dots_in_its_name_is_found_whole() -> None:
    mapping = ClaimMapping(role_claim="https://ledger.example/roles")

    assert mapping.role({"https://ledger.example/roles": ["officer"]}) is Role.OFFICER


def test_without_a_role_map_the_values_must_be_the_role_names_themselves() -> None:
    assert ClaimMapping().role({"roles": "staff"}) is Role.STAFF
    with pytest.raises(BadToken, match="maps to no role"):
        ClaimMapping().role({"roles": ["Ledger.Staff"]})


@pytest.mark.parametrize(
    ("claims", "detail"),
    [
        ({"preferred_username": "x", "roles": ["Payroll.Admin"]}, "'Payroll.Admin'"),
        ({"preferred_username": "x"}, "(nothing) maps to no role"),
        ({"preferred_username": "x", "roles": ["Ledger.Staff", "Ledger.Officer"]},
         "maps to several roles (officer, staff)"),
        ({"preferred_username": "x", "roles": ["Ledger.CustomerAdmin"]},
         "must name their tenant in the 'tid' claim"),
        ({"preferred_username": "x", "roles": ["Ledger.CustomerAdmin"], "tid": "other-org"},
         "'other-org' in the token's 'tid' claim is not mapped to a tenant"),
        ({"roles": ["Ledger.Staff"]}, "'preferred_username' claim must be a name"),
        ({"preferred_username": "x\x00y", "roles": ["Ledger.Staff"]}, "NUL"),
    ],
    ids=["unknown role value", "no role claim", "two roles", "customer without tenant",
         "unmapped organisation", "no actor", "NUL in the actor"],
)
def test_claims_that_name_no_single_caller_are_refused_with_the_reason(
    claims: dict[str, object], detail: str,
) -> None:
    with pytest.raises(BadToken) as refused:
        ENTRA.caller(claims)

    assert detail in refused.value.detail
