"""The ledger's vocabulary: purposes, scopes, locations and other closed sets, with their checks."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.errors import InvalidEmail, InvalidInput, LocationOutsideEU, UnknownPurpose


class Purpose(StrEnum):
    INFO_MAIL = "info_mail"
    PRODUCT_MAIL = "product_mail"
    BLOG_MAIL = "blog_mail"
    ANALYTICS_COOKIES = "analytics_cookies"
    TRACKING_COOKIES = "tracking_cookies"
    PROFILING = "profiling"
    THIRD_PARTY_MARKETING = "third_party_marketing"
    MARKET_RESEARCH = "market_research"


class ConsentStatus(StrEnum):
    GIVEN = "given"
    WITHDRAWN = "withdrawn"


class ConsentMethod(StrEnum):
    """How a decision was expressed. A pre-ticked box is deliberately not among them."""

    WEB_FORM = "web_form"
    CHECKBOX = "checkbox"
    COOKIE_BANNER = "cookie_banner"
    DOUBLE_OPT_IN = "double_opt_in"
    EMAIL = "email"
    SMS = "sms"
    PHONE = "phone"
    PAPER = "paper"
    IN_PERSON = "in_person"
    API = "api"
    UNSUBSCRIBE_LINK = "unsubscribe_link"
    IMPORT = "import"


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PHONE = "phone"
    POST = "post"
    WEB = "web"
    APP = "app"
    IN_PERSON = "in_person"


class Scope(StrEnum):
    READ = "read"
    EXPORT = "export"
    MODIFY = "modify"

    @property
    def breadth(self) -> int:
        # read < export < modify: an approver may move a request down this line, never up.
        return {"read": 1, "export": 2, "modify": 3}[self.value]

    def permits(self, action: "Scope") -> bool:
        # Export and modify grants also allow looking at the data they export or change.
        return action is Scope.READ or action is self

    def within(self, asked: "Scope") -> bool:
        """Whether granting `self` for a request that asked for `asked` only narrows it.

        Breadth alone is not enough: export is not a narrower modify, it is a different
        permission, so a modify request may be narrowed to read but never turned into export.
        """
        return self is asked or self is Scope.READ


class DataRequestKind(StrEnum):
    ACCESS = "access"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    PORTABILITY = "portability"
    OBJECTION = "objection"


class RequestChannel(StrEnum):
    EMAIL = "email"
    WEB_FORM = "web_form"
    LETTER = "letter"
    PHONE = "phone"
    IN_PERSON = "in_person"
    API = "api"


class LegalBasis(StrEnum):
    CUSTOMER_REQUEST = "customer_request"
    LEGAL_OBLIGATION = "legal_obligation"
    COURT_ORDER = "court_order"


PRIMARY_LOCATION = "NL"
FAILOVER_LOCATION = "IE"
EU_MEMBER_STATES = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
)

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
