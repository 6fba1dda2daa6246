"""Disclosures of a tenant's data to third parties, as recorded."""

from __future__ import annotations

import json

from domain.disclosure import Disclosure
from projections.read_models.base import Handler, Projection, Writer
from projections.read_models.tables import DISCLOSURES, micros


class Disclosures(Projection):
    name = "disclosures"
    tables = (DISCLOSURES,)

    def handlers(self) -> dict[type, Handler]:
        return {Disclosure.Recorded: self._recorded}

    def _recorded(self, w: Writer, event: Disclosure.Recorded, position: int) -> None:
        w.insert(DISCLOSURES, {
            "id": str(event.originator_id), "tenant_id": str(event.tenant_id),
            "recipient": event.recipient, "legal_basis": event.legal_basis,
            "reference": event.reference,
            "subject_ids": json.dumps([str(s) for s in event.subject_ids]),
            "at": micros(event.timestamp), "actor": event.actor, "position": position,
        })
