"""Which event fields identify a person, and whose key protects them.

An event class lists its personal fields in `personal_fields`; the field named by
`data_owner` holds the id of the subject (or tenant) whose data key encrypts them. The
mapper in `domain.shredding` reads these declarations; the aggregates never see
ciphertext.
"""

from __future__ import annotations

from typing import ClassVar

ERASED = "[erased]"


class CarriesPersonalData:
    personal_fields: ClassVar[tuple[str, ...]] = ()
    data_owner: ClassVar[str] = "originator_id"
