"""The disclosures read model, in memory: a disclosure as the customer sees it."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from uuid import uuid4

from domain.disclosure import Disclosure
from projections.read_models.disclosures import Disclosures
from projections.read_models.tables import DISCLOSURES
from tests.unit.in_memory_writer import InMemoryReadModel

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def test_a_disclosure_shows_to_whom_on_what_basis_and_whose_data() -> None:
    model = InMemoryReadModel(lambda sealer: Disclosures())
    tenant_id, subjects = uuid4(), [uuid4(), uuid4()]
    disclosure = Disclosure.record(
        tenant_id, "Police NL", "legal_obligation", "request 2026/17", "officer-1", NOW,
        subject_ids=subjects,
    )
    [position] = model.apply(disclosure)

    row = model.row(DISCLOSURES, disclosure.id)
    assert row is not None
    assert (row["tenant_id"], row["recipient"], row["legal_basis"], row["reference"]) == (
        str(tenant_id), "Police NL", "legal_obligation", "request 2026/17")
    assert json.loads(row["subject_ids"]) == [str(s) for s in subjects]
    assert (row["at"], row["actor"], row["position"]) == (NOW, "officer-1", position)


def test_a_disclosure_of_no_particular_subject_names_none() -> None:
    model = InMemoryReadModel(lambda sealer: Disclosures())
    disclosure = Disclosure.record(
        uuid4(), "Tax office", "court_order", "order 5", "officer-1", NOW
    )
    model.apply(disclosure)

    assert json.loads(model.row(DISCLOSURES, disclosure.id)["subject_ids"]) == []  # type: ignore[index]
