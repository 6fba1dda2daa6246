"""Checks of the values callers give: free text, e-mail, phone, moments, ids, counts, and a
choice among a closed set of `domain.vocabulary`. Each answers the value to record, or raises
InvalidInput naming the field."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.errors import InvalidEmail, InvalidInput, LocationOutsideEU, UnknownPurpose
from domain.vocabulary import EU_MEMBER_STATES, Channel, Purpose


_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]{2,}$")
# What people write around a phone number: spaces, dashes, dots, slashes and parentheses.
_PHONE_PUNCTUATION = re.compile(r"[\s\-./()]")
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")


def purpose(value: str) -> Purpose:
    if not isinstance(value, str):
        raise UnknownPurpose(repr(value))
    try:
        return Purpose(value)
    except ValueError:
        raise UnknownPurpose(value) from None


def channel(value: str | None) -> str | None:
    """A channel's text; None (every channel) stays None."""
    return None if value is None else choice("channel", Channel, value).value


def eu_location(value: str) -> str:
    if not isinstance(value, str):
        raise LocationOutsideEU(repr(value))
    code = value.strip().upper()
    if code not in EU_MEMBER_STATES:
        raise LocationOutsideEU(value)
    return code


def email(value: str) -> str:
    if not isinstance(value, str):
        raise InvalidEmail()
    value = value.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise InvalidEmail()
    return value


def phone(value: str | None) -> str | None:
    """A phone number in E.164 (+, country code, number: 8 to 15 digits), after dropping the
    punctuation people write around it; 00 before the country code counts as +."""
    number = text("phone", value, required=False, max_length=40)
    if number is None:
        return None
    number = _PHONE_PUNCTUATION.sub("", number)
    if number.startswith("00"):
        number = "+" + number[2:]
    if not _E164.fullmatch(number):
        raise InvalidInput(
            "phone",
            "phone must be an international number with its country code, e.g. +31 6 1234 5678",
        )
    return number


def text(field: str, value: str | None, *, required: bool = True, max_length: int = 2000) -> str | None:
    """Free text: kept exactly as given (other control characters included), only bounded;
    never a NUL, which no store keeps in a text column."""
    if value is None or value == "":
        if required:
            raise InvalidInput(field, f"{field} is required")
        return None
    if not isinstance(value, str):
        raise InvalidInput(field, f"{field} must be text")
    if len(value) > max_length:
        raise InvalidInput(field, f"{field} is longer than {max_length} characters")
    if "\x00" in value:
        raise InvalidInput(field, f"{field} must not contain a NUL character")
    if not value.strip():
        # Blank is no answer: required text must say something, optional text is absent.
        if required:
            raise InvalidInput(field, f"{field} is required")
        return None
    return value


def choice(field: str, enum: type[StrEnum], value: str) -> StrEnum:
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return enum(value)
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise InvalidInput(field, f"{field} must be one of: {allowed}") from None


def whole_number(field: str, value: Any, *, minimum: int, maximum: int | None = None) -> int:
    """A count given by a caller: a real int (not a bool, not "5"), within bounds."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(field, f"{field} must be a whole number")
    if value < minimum:
        raise InvalidInput(field, f"{field} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise InvalidInput(field, f"{field} must be at most {maximum}")
    return value


def moment(field: str, value: Any) -> datetime:
    """A point in time: a datetime that knows its time zone, so it means one instant."""
    if not isinstance(value, datetime):
        raise InvalidInput(field, f"{field} must be a date and time")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(field, f"{field} needs a time zone")
    return value


def ids(field: str, value: Any, *, max_items: int = 1000) -> list[UUID]:
    """A list of identifiers, duplicates dropped, order kept."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, UUID) for v in value):
        raise InvalidInput(field, f"{field} must be a list of ids")
    if len(value) > max_items:
        raise InvalidInput(field, f"{field} holds at most {max_items} ids")
    return list(dict.fromkeys(value))
