"""What staff may be granted: resources, as names of `/`-separated segments, matched exactly.

A resource names a part of a tenant's data ("orders", "orders/17", "invoices/2026:03"). It is
a name, never a path to be resolved: there is no `.` or `..`, no empty segment, no `%`-escape
and no backslash, so that "orders/17/../../invoices/3" or "orders%2F17" cannot pass for
something the grant covers. A grant for "orders" covers "orders" and everything below it; a
grant for "orders/17" covers "orders/17" and what lies below it, nothing else.

Every entry point goes through `resource` (asking, approving, using), so none can slip a
resource past the rule.
"""

from __future__ import annotations

import re
from typing import Any

from domain.errors import InvalidInput

MAX_LENGTH = 512
MAX_PER_REQUEST = 100
_SEGMENT = re.compile(r"[A-Za-z0-9_:.\-]+")
_FORBIDDEN_SEGMENTS = frozenset({".", ".."})
RULE = (
    "a resource is a name of '/'-separated segments of letters, digits, '-', '_', '.' and ':' "
    "(no empty, '.' or '..' segment), at most 512 characters, e.g. orders/17"
)


def resource(field: str, value: Any) -> str:
    """The resource as given, when it is a valid name; InvalidInput naming `field` if not."""
    if not isinstance(value, str) or not value:
        raise InvalidInput(field, RULE)
    if len(value) > MAX_LENGTH:
        raise InvalidInput(field, f"{field} is longer than {MAX_LENGTH} characters")
    for segment in value.split("/"):
        if segment in _FORBIDDEN_SEGMENTS or not _SEGMENT.fullmatch(segment):
            raise InvalidInput(field, RULE)
    return value


def resources(field: str, value: Any) -> list[str]:
    """One or more resources (at most MAX_PER_REQUEST), duplicates dropped, order kept."""
    if not value or not isinstance(value, (list, tuple)):
        raise InvalidInput(field, "name at least one resource")
    if len(value) > MAX_PER_REQUEST:
        raise InvalidInput(field, f"at most {MAX_PER_REQUEST} resources per request")
    return list(dict.fromkeys(resource(field, item) for item in value))


def segments(name: str) -> tuple[str, ...]:
    return tuple(name.split("/"))


def covers(granted: str, wanted: str) -> bool:
    """Whether a grant for `granted` covers a use of `wanted`: its segments start with the
    granted resource's segments. Both are valid names (checked on the way in)."""
    granted_segments = segments(granted)
    return segments(wanted)[: len(granted_segments)] == granted_segments
