"""What a grant of staff access may be: how long things last (`AccessPolicy`), how far an
approval may change what was asked (only narrow it: scope, resources, duration), and what a
grant covers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from domain import resources as resource_names
from domain import values
from domain.deadlines import DEFAULT_GRANT, MAXIMUM_GRANT, PENDING_ACCESS_REQUEST_LIFETIME
from domain.errors import ApprovalMayOnlyNarrow, DurationTooLong
from domain.vocabulary import Scope


@dataclass(frozen=True)
class AccessPolicy:
    """How long things last; the defaults are DESIGN.md §7's, deployments may tighten them."""

    pending_lifetime: timedelta = PENDING_ACCESS_REQUEST_LIFETIME
    default_grant: timedelta = DEFAULT_GRANT
    maximum_grant: timedelta = MAXIMUM_GRANT

    def asked_minutes(self, minutes: int | None) -> int:
        """The duration a request asks for: the default when none is named, never beyond
        the maximum."""
        if minutes is None:
            return int(self.default_grant.total_seconds() // 60)
        maximum = int(self.maximum_grant.total_seconds() // 60)
        values.whole_number("duration_minutes", minutes, minimum=1)
        if minutes > maximum:
            raise DurationTooLong(maximum)
        return minutes


@dataclass(frozen=True)
class Grant:
    """What an approval grants: the asked scope, resources and minutes, or less."""

    scope: str
    resources: list[str]
    minutes: int

    def narrowed(
        self, scope: str | None, resources: list[str] | None, minutes: int | None
    ) -> "Grant":
        """This grant as the approver narrows it (None keeps what was asked); anything
        wider than asked is ApprovalMayOnlyNarrow."""
        granted_scope = self.scope if scope is None else values.choice("scope", Scope, scope).value
        if not Scope(granted_scope).within(Scope(self.scope)):
            raise ApprovalMayOnlyNarrow(
                "scope",
                f"the request asked for {self.scope}; approval may keep it or narrow it to read",
            )
        granted_resources = resource_names.resources(
            "resources", self.resources if resources is None else resources
        )
        for resource in granted_resources:
            if not any(resource_names.covers(asked, resource) for asked in self.resources):
                raise ApprovalMayOnlyNarrow(
                    "resources", f"{resource!r} was not among the requested resources"
                )
        if minutes is not None:
            values.whole_number("duration_minutes", minutes, minimum=1)
            if minutes > self.minutes:
                raise ApprovalMayOnlyNarrow(
                    "duration_minutes",
                    f"the request asked for {self.minutes} minutes; approval may not lengthen it",
                )
        return Grant(granted_scope, granted_resources, self.minutes if minutes is None else minutes)


def uncovered(scope: str, resources: list[str], resource: str, action: Scope) -> str | None:
    """Why a grant of `scope` on `resources` does not cover this use of `resource`; None when
    it does."""
    if not any(resource_names.covers(granted, resource) for granted in resources):
        return f"{resource!r} is outside the granted resources"
    if not Scope(scope).permits(action):
        return f"a {scope} grant does not permit {action.value}"
    return None
