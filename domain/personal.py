"""Which event fields identify a person, and whose key protects them: declared once, on the
event classes, and read only through this module.

An event class lists its personal fields in `personal_fields`; the field named by
`data_owner` holds the id of the subject (or tenant) whose data key encrypts them. The
mapper in `domain.ledger.shredding` seals and opens exactly these fields, and every view that
masks personal data (the auditor's) asks `personal_fields` or `every_personal_field`; the
aggregates never see ciphertext.
"""

from __future__ import annotations

import importlib
from typing import Any, ClassVar

ERASED = "[erased]"


class CarriesPersonalData:
    personal_fields: ClassVar[tuple[str, ...]] = ()
    data_owner: ClassVar[str] = "originator_id"


def personal_fields(event: Any) -> tuple[str, ...]:
    """The personal fields an event (or event class) declares; none for any other event."""
    event_class = event if isinstance(event, type) else type(event)
    return getattr(event_class, "personal_fields", ())


def data_owner_id(event_class: type, state: dict[str, Any]) -> Any:
    """Whose key seals this event's personal fields: the subject's, or the tenant's (the
    originator's when the owner field is empty)."""
    return state.get(getattr(event_class, "data_owner", "originator_id")) or state["originator_id"]


def every_personal_field() -> frozenset[str]:
    """The names of every field any event declares personal: what a masked view hides."""
    # The Ledger imports every aggregate: then every event class that declares some is known.
    importlib.import_module("domain.ledger")
    return frozenset(
        field for event_class in _subclasses(CarriesPersonalData)
        if event_class.__module__.startswith("domain.")  # not a test's own event class
        for field in event_class.personal_fields
    )


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found
