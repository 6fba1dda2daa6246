"""Disclosures of a tenant's data to third parties, as recorded."""

from __future__ import annotations

import json

from domain.disclosure import Disclosure
from projections.database import Cursor
from projections.projection import Handler, Projection
from projections.tables import DISCLOSURES, micros


class Disclosures(Projection):
    name = "disclosures"
    tables = (DISCLOSURES,)

    def handlers(self) -> dict[type, Handler]:
        return {Disclosure.Recorded: self._recorded}

    def _recorded(self, cur: Cursor, event: Disclosure.Recorded, position: int) -> None:
        cur.execute(
            "INSERT INTO disclosures (id, tenant_id, recipient, legal_basis, reference, "
            "subject_ids, at, actor, position) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                str(event.originator_id), str(event.tenant_id), event.recipient,
                event.legal_basis, event.reference,
                json.dumps([str(s) for s in event.subject_ids]), micros(event.timestamp),
                event.actor, position,
            ),
        )
