"""An auditor checks the ledger over HTTP with nothing but what the audit endpoints return,
hashlib and `cryptography`, the way docs/verifying.md tells them to."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from domain.clock import MovableClock
from projections.merkle_log.rfc9162 import verify_consistency, verify_inclusion
from tests.conftest import make_settings
from tests.e2e.conftest import Api, User, fields_named, open_api, problem

NAME, EMAIL = "Zoë Verhoeven", "zoe@example.org"


@pytest.fixture
def audit_api(durable_database_url: str, tmp_path: Path, clock: MovableClock) -> Iterator[Api]:
    settings = make_settings(
        durable_database_url, tmp_path / "var", poll_interval_ms=10, read_wait_seconds=20
    )
    yield from open_api(settings, clock)


@pytest.fixture
def sqlite_audit_api(tmp_path: Path, clock: MovableClock) -> Iterator[Api]:
    settings = make_settings(f"sqlite:///{tmp_path}/ledger.sqlite", tmp_path / "var", poll_interval_ms=10)
    yield from open_api(settings, clock)


def _record(api: Api, subjects: int = 3) -> int:
    tenant = api.ledger.open_tenant("Acme", "officer-1").aggregate
    for i in range(subjects):
        api.clock.move(minutes=1)
        subject = api.ledger.register_subject(f"{NAME} {i}", f"{i}.{EMAIL}", "app", tenant.id)
        api.ledger.give_consent(subject.aggregate.id, "info_mail", "web_form", "v1", "app")
    return api.events()


def _seal(api: Api) -> None:
    api.app.state.sealer.seal_pending()


def _all_events(auditor: User, limit: int = 1000) -> list[dict[str, Any]]:
    items, after = [], None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if after is not None:
            params["after"] = after
        page = auditor.get("/v1/audit/events", params=params).json()
        items += page["items"]
        after = page["next"]
        if after is None:
            return items


# What an outside auditor writes (docs/verifying.md), independent of our code:
def _their_leaf_hash(item: dict[str, Any]) -> bytes:
    leaf = json.dumps(
        {
            "id": item["id"],
            "originator_id": item["originator_id"],
            "originator_version": item["originator_version"],
            "state_sha256": hashlib.sha256(base64.b64decode(item["state"])).hexdigest(),
            "topic": item["topic"],
        },
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    ).encode()
    return hashlib.sha256(b"\x00" + leaf).digest()


def _their_signature_check(checkpoint: dict[str, Any]) -> None:
    text = (
        f"compliance-ledger checkpoint v1\n{checkpoint['tree_size']}\n"
        f"{checkpoint['root_hash']}\n{checkpoint['timestamp']}\n"
    ).encode()
    key = load_pem_public_key(checkpoint["public_key"].encode())
    key.verify(base64.b64decode(checkpoint["signature"]), text)  # type: ignore[union-attr]


def test_an_auditor_checks_every_event_against_the_signed_checkpoint_from_the_api_alone(
    audit_api: Api,
) -> None:
    position = _record(audit_api)
    auditor = audit_api.user("auditor", "ada")

    checkpoint = auditor.get("/v1/audit/checkpoint", params={"min_position": position}).json()
    _their_signature_check(checkpoint)
    events = _all_events(auditor)

    assert [e["index"] for e in events] == list(range(len(events)))
    for event in events[: checkpoint["tree_size"]]:
        leaf = _their_leaf_hash(event)
        assert leaf.hex() == event["leaf_hash"]
        proof = auditor.get(
            "/v1/audit/proofs/inclusion",
            params={"index": event["index"], "tree_size": checkpoint["tree_size"]},
        ).json()
        path = [bytes.fromhex(p) for p in proof["path"]]
        assert verify_inclusion(
            leaf, event["index"], checkpoint["tree_size"], path, bytes.fromhex(checkpoint["root_hash"])
        )


def test_the_events_show_personal_fields_masked_and_never_in_plaintext(sqlite_audit_api: Api) -> None:
    _record(sqlite_audit_api, subjects=1)
    auditor = sqlite_audit_api.user("auditor", "ada")

    response = auditor.get("/v1/audit/events")

    registered = [e for e in response.json()["items"] if e["topic"].endswith("Subject.Registered")]
    assert registered[0]["data"]["name"] == "***" and registered[0]["data"]["email"] == "***"
    assert registered[0]["data"]["actor"] == "app"
    assert "Verhoeven" not in response.text and EMAIL not in response.text


def test_an_earlier_checkpoint_is_proved_a_prefix_of_the_latest(sqlite_audit_api: Api) -> None:
    auditor = sqlite_audit_api.user("auditor", "ada")
    _record(sqlite_audit_api, subjects=2)
    _seal(sqlite_audit_api)
    earlier = auditor.get("/v1/audit/checkpoint").json()
    _record(sqlite_audit_api, subjects=2)
    _seal(sqlite_audit_api)

    latest = auditor.get("/v1/audit/checkpoint").json()
    again = auditor.get("/v1/audit/checkpoint", params={"tree_size": earlier["tree_size"]}).json()
    proof = auditor.get(
        "/v1/audit/proofs/consistency",
        params={"first": earlier["tree_size"], "second": latest["tree_size"]},
    ).json()

    assert again == earlier
    _their_signature_check(latest)
    assert verify_consistency(
        earlier["tree_size"], latest["tree_size"], bytes.fromhex(earlier["root_hash"]),
        bytes.fromhex(latest["root_hash"]), [bytes.fromhex(p) for p in proof["path"]],
    )


def test_events_are_paged_oldest_first_without_repeats(sqlite_audit_api: Api) -> None:
    total = _record(sqlite_audit_api, subjects=3)
    auditor = sqlite_audit_api.user("auditor", "ada")

    first = auditor.get("/v1/audit/events", params={"limit": 3}).json()
    everything = _all_events(auditor, limit=3)

    assert [e["id"] for e in first["items"]] == [1, 2, 3] and first["next"] is not None
    assert [e["id"] for e in everything] == list(range(1, total + 1))


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/audit/proofs/inclusion", {"index": 99, "tree_size": 3}, "index"),
        ("/v1/audit/proofs/inclusion", {"index": 0, "tree_size": 999}, "tree_size"),
        ("/v1/audit/proofs/inclusion", {"index": "first"}, "index"),
        ("/v1/audit/proofs/inclusion", {"index": -1}, "index"),
        ("/v1/audit/proofs/consistency", {"first": 5, "second": 3}, "first"),
        ("/v1/audit/proofs/consistency", {"first": 0, "second": 3}, "first"),
        ("/v1/audit/proofs/consistency", {"first": 1, "second": 999}, "second"),
        ("/v1/audit/events", {"after": "yesterday"}, "after"),
        ("/v1/audit/events", {"limit": 0}, "limit"),
    ],
)
def test_bad_query_parameters_are_422_naming_the_field(
    sqlite_audit_api: Api, path: str, params: dict[str, Any], field: str
) -> None:
    _record(sqlite_audit_api, subjects=2)
    _seal(sqlite_audit_api)
    auditor = sqlite_audit_api.user("auditor", "ada")

    assert fields_named(auditor.get(path, params=params)) == {field}


def test_before_the_first_event_there_is_no_checkpoint_and_nothing_to_prove(sqlite_audit_api: Api) -> None:
    auditor = sqlite_audit_api.user("auditor", "ada")

    problem(auditor.get("/v1/audit/checkpoint"), 404)
    assert fields_named(auditor.get("/v1/audit/proofs/inclusion", params={"index": 0})) == {"tree_size"}


@pytest.mark.parametrize("path", ["/v1/audit/checkpoint", "/v1/audit/events",
                                  "/v1/audit/proofs/inclusion?index=0"])
def test_only_auditors_may_read_the_audit_endpoints(sqlite_audit_api: Api, path: str) -> None:
    problem(sqlite_audit_api.anonymous().get(path), 401)
    problem(sqlite_audit_api.user("officer", "olga").get(path), 403)


def _docs_example() -> dict[str, Any]:
    """The Python blocks of docs/verifying.md, run as an auditor would paste them."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "verifying.md").read_text()
    blocks = [part.split("```", 1)[0] for part in text.split("```python\n")[1:]]
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(blocks), "docs/verifying.md", "exec"), namespace)
    return namespace


def test_the_worked_example_in_the_docs_checks_a_real_proof_and_catches_a_forged_one(
    sqlite_audit_api: Api,
) -> None:
    example = _docs_example()
    auditor = sqlite_audit_api.user("auditor", "ada")
    _record(sqlite_audit_api, subjects=2)
    _seal(sqlite_audit_api)
    earlier = auditor.get("/v1/audit/checkpoint").json()
    _record(sqlite_audit_api, subjects=1)
    _seal(sqlite_audit_api)
    checkpoint = auditor.get("/v1/audit/checkpoint").json()
    event = auditor.get("/v1/audit/events", params={"limit": 5}).json()["items"][4]
    proof = auditor.get(
        "/v1/audit/proofs/inclusion", params={"index": 4, "tree_size": checkpoint["tree_size"]}
    ).json()
    link = auditor.get(
        "/v1/audit/proofs/consistency",
        params={"first": earlier["tree_size"], "second": checkpoint["tree_size"]},
    ).json()

    example["check"](event, proof, checkpoint, checkpoint["public_key"])
    assert example["check_consistency"](
        earlier["tree_size"], checkpoint["tree_size"], earlier["root_hash"], checkpoint["root_hash"],
        link["path"],
    )
    forged = {**event, "topic": event["topic"] + "X"}
    with pytest.raises(ValueError, match="not in the signed tree"):
        example["check"](forged, proof, checkpoint, checkpoint["public_key"])
    assert not example["check_consistency"](
        earlier["tree_size"], checkpoint["tree_size"], checkpoint["root_hash"], checkpoint["root_hash"],
        link["path"],
    )
