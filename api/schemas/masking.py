"""Auditors read everything, but not who it is about: personal fields are shown as "***"."""

from __future__ import annotations

from typing import Any

from api.http.auth import Caller, Role
from domain.personal import ERASED, every_personal_field

MASK = "***"
# The personal fields the domain declares (domain/*.py `personal_fields`), by name.
PERSONAL_FIELDS = every_personal_field()
# Containers whose keys are channels ("email", "phone"), not personal fields: what was
# decided per channel is no personal data, and masking it would hide the decision itself.
KEYED_BY_CHANNEL = frozenset({"consents", "channels"})


def masked(value: Any, fields: frozenset[str] = PERSONAL_FIELDS) -> Any:
    """A copy with every personal field, at any depth, replaced by "***" (None stays None,
    and "[erased]" stays "[erased]": that a field was erased is not personal)."""
    if isinstance(value, dict):
        return {
            key: item if key in KEYED_BY_CHANNEL else (
                MASK if key in fields and item is not None and item != ERASED
                else masked(item, fields)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [masked(item, fields) for item in value]
    return value


def for_caller(caller: Caller, value: Any, fields: frozenset[str] = PERSONAL_FIELDS) -> Any:
    return masked(value, fields) if caller.role is Role.AUDITOR else value
