"""Rule breaches, named for the business.

Each error belongs to one of four families, which the HTTP layer maps to status codes
without knowing the individual rules: NotFound (404), InvalidInput (422, names the
field), NotPermitted (403) and StateConflict (409). StoredDataTampered is deliberately not
a DomainError at all: it is no rule breach and no caller can fix it, so the HTTP layer
answers 500 and it is a case for `ledger verify`.
"""

from __future__ import annotations

from domain.vocabulary import TenantStatus


class DomainError(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ReadOnlyLedger(Exception):
    """A write asked of a ledger opened only to read (a read-only process on a replica): not
    a rule of the business, but nothing may be recorded here, and what needed recording must
    not happen unrecorded."""


class NotFound(DomainError):
    pass


class InvalidInput(DomainError):
    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field


class NotPermitted(DomainError):
    pass


class StateConflict(DomainError):
    pass


# Input
class InvalidEmail(InvalidInput):
    def __init__(self) -> None:
        super().__init__("email", "email must look like name@example.org")


class UnknownPurpose(InvalidInput):
    def __init__(self, purpose: str) -> None:
        super().__init__("purpose", f"unknown purpose {purpose!r}")


class LocationOutsideEU(InvalidInput):
    def __init__(self, location: str) -> None:
        super().__init__(
            "location", f"{location!r} is not an EU member state; data stays in the EU"
        )


class ExceptionalLocationNeedsReason(InvalidInput):
    def __init__(self, location: str) -> None:
        super().__init__(
            "reason",
            f"{location} is neither the primary (NL) nor the failover (IE) location; "
            "moving there is an exception and needs a reason",
        )


class DurationTooLong(InvalidInput):
    def __init__(self, maximum_minutes: int) -> None:
        super().__init__(
            "duration_minutes", f"a grant lasts at most {maximum_minutes} minutes"
        )


class ApprovalMayOnlyNarrow(InvalidInput):
    def __init__(self, field: str, detail: str) -> None:
        super().__init__(field, detail)


class ConsentNeedsNoticeAndMethod(InvalidInput):
    pass


# Permission
class RequesterCannotApprove(NotPermitted):
    def __init__(self) -> None:
        super().__init__("nobody approves their own access request")


class AccessRefused(NotPermitted):
    """The access was refused and the refusal itself was recorded."""

    def __init__(self, reason: str, position: int | None = None) -> None:
        super().__init__(f"access refused: {reason}")
        self.reason = reason
        self.position = position


# State
class GrantEndedWithTenancy(StateConflict):
    def __init__(self) -> None:
        super().__init__(
            "the tenant was terminated after this request was made; termination ended it, "
            "and a reactivation revives no request: ask again"
        )


class RequestNotPending(StateConflict):
    def __init__(self, status: str) -> None:
        super().__init__(f"the access request is {status}, not pending")


class AccessRequestExpired(StateConflict):
    def __init__(self) -> None:
        super().__init__("the access request expired before anyone decided on it")


class GrantNotActive(StateConflict):
    def __init__(self, status: str) -> None:
        super().__init__(f"there is no active grant: the request is {status}")


class TenantNotActive(StateConflict):
    def __init__(self, status: str) -> None:
        super().__init__(f"the tenant is {status}; its data cannot be granted or used")


class TenantClosed(StateConflict):
    """A terminated (or purged) tenant's subjects: their consent is not written, and its
    customer reads nothing of them, until the tenant is reactivated."""

    def __init__(self, status: str, what: str = "its subjects' consent cannot be written") -> None:
        super().__init__(
            f"the tenant is {status}: {what}"
            + (" until it is reactivated" if status == TenantStatus.TERMINATED else "")
        )
        self.status = status


class TenantPurged(StateConflict):
    def __init__(self) -> None:
        super().__init__("the tenant was purged; nothing can bring it back")


class GracePeriodOver(StateConflict):
    def __init__(self) -> None:
        super().__init__("the 60 days in which the tenant could come back have passed")


class TenantNotTerminated(StateConflict):
    def __init__(self, status: str) -> None:
        super().__init__(f"the tenant is {status}, not terminated")


class PurgeTooEarly(StateConflict):
    def __init__(self, purge_after: object) -> None:
        super().__init__(f"the tenant may come back until {purge_after}")


class SubjectErased(StateConflict):
    def __init__(self) -> None:
        super().__init__("the subject was erased; nothing about them can be recorded again")


class DataRequestClosed(StateConflict):
    def __init__(self, status: str) -> None:
        super().__init__(f"the request is already {status}")


class DataRequestStepOutOfOrder(StateConflict):
    pass


class DuplicateOpenRequest(StateConflict):
    def __init__(self, open_request_id: object) -> None:
        super().__init__(f"an open request of this kind exists already: {open_request_id}")
        self.open_request_id = open_request_id


class IncidentStepOutOfOrder(StateConflict):
    pass


# Integrity
class StoredDataTampered(Exception):
    """A sealed personal field does not open with its owner's key under this event's identity:
    the stored bytes were changed or an envelope was copied from another event or field.
    Reading fails loudly rather than returning someone else's data."""

    def __init__(self, originator_id: object, version: int, field: str) -> None:
        self.detail = (
            f"the personal field {field!r} of event {originator_id} v{version} does not "
            "decrypt under its own identity; the stored event was altered"
        )
        super().__init__(self.detail)
        self.originator_id = originator_id
        self.version = version
        self.field = field
