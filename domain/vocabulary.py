"""The ledger's vocabulary: every closed set of words it records, each an enum, in one place.

The values are what events, read models, SQL, templates and the API carry. A `StrEnum` member
equals its text and is stored as it (events keep plain text: each aggregate writes `.value`),
so comparing a stored "approved" with `AccessRequestStatus.APPROVED` holds. Which values a
caller's input may take is checked in `domain.values`; which step leads to which status is the
aggregates' business.
"""

from __future__ import annotations

from enum import StrEnum


# Who acts
class Role(StrEnum):
    """The part a caller plays: vendor staff asking for access, a customer's administrator, a
    privacy officer, one of the vendor's systems, an auditor, a witness. Each caller acts in
    exactly one."""

    STAFF = "staff"
    CUSTOMER = "customer"
    OFFICER = "officer"
    SYSTEM = "system"
    AUDITOR = "auditor"
    # A witness or monitor that reads the log's checkpoints and tiles to keep the vendor honest:
    # it sees hashes only, never an event.
    WITNESS = "witness"


# Consent
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
    # Global Privacy Control: the browser's `Sec-GPC: 1`, honoured as a refusal (never a consent).
    GPC = "gpc"
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
    """Where the vendor may reach a person; a consent decision names one, or all of them."""

    EMAIL = "email"
    SMS = "sms"
    PHONE = "phone"
    POST = "post"
    WEB = "web"
    APP = "app"
    IN_PERSON = "in_person"


# Tenants
class TenantStatus(StrEnum):
    """active → terminated (it may come back for 60 days) → purged (for good)."""

    ACTIVE = "active"
    TERMINATED = "terminated"
    PURGED = "purged"


# Where a tenant's data may live: an EU member state (ISO 3166 codes); NL, or IE on failover.
EU_MEMBER_STATES = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
)
PRIMARY_LOCATION = "NL"
FAILOVER_LOCATION = "IE"


# Staff access
class Scope(StrEnum):
    READ = "read"
    EXPORT = "export"
    MODIFY = "modify"

    def permits(self, action: "Scope") -> bool:
        # Export and modify grants also allow looking at the data they export or change.
        return action is Scope.READ or action is self

    def within(self, asked: "Scope") -> bool:
        """Whether granting `self` for a request that asked for `asked` only narrows it:
        export is not a narrower modify, it is a different permission, so a modify request
        may be narrowed to read but never turned into export."""
        return self is asked or self is Scope.READ


class AccessRequestStatus(StrEnum):
    PENDING = "pending"  # asked, nobody decided yet
    APPROVED = "approved"  # a grant runs
    DENIED = "denied"
    REVOKED = "revoked"
    EXPIRED = "expired"  # nobody decided in time
    USED = "used"  # an export or modify grant, used once
    ENDED = "ended"  # the grant's time ran out, or the tenant's termination ended it


# Still in force: a termination of the tenant ends these.
ACCESS_REQUEST_IN_FORCE = (AccessRequestStatus.PENDING, AccessRequestStatus.APPROVED)


class AccessLogOutcome(StrEnum):
    """What an entry of a tenant's access log records (in this order in every list)."""

    ALLOWED = "allowed"
    REFUSED = "refused"
    DISCLOSED = "disclosed"
    VENDOR_READ = "vendor_read"
    PURGED = "purged"


# Subjects' requests
class DataRequestKind(StrEnum):
    ACCESS = "access"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    PORTABILITY = "portability"
    OBJECTION = "objection"


class RequestChannel(StrEnum):
    """How a subject's request reached the vendor."""

    EMAIL = "email"
    WEB_FORM = "web_form"
    LETTER = "letter"
    PHONE = "phone"
    IN_PERSON = "in_person"
    API = "api"


class DataRequestStatus(StrEnum):
    RECEIVED = "received"
    VERIFIED = "verified"
    QUOTED = "quoted"
    QUOTE_ACCEPTED = "quote_accepted"
    FULFILLED = "fulfilled"
    REJECTED = "rejected"
    DECLINED = "declined"  # the quoted fee was declined


# Closed: nothing more happens to the request, and the subject may ask again.
DATA_REQUEST_CLOSED = (
    DataRequestStatus.FULFILLED, DataRequestStatus.REJECTED, DataRequestStatus.DECLINED,
)


# Incidents, disclosures and the vendor's own reads
class IncidentSeverity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Recipient(StrEnum):
    """Who an incident's notification went to: one affected customer, or the authority."""

    CUSTOMER = "customer"
    AUTHORITY = "authority"


class LegalBasis(StrEnum):
    """Why a tenant's data was disclosed to a third party: nothing else allows it."""

    CUSTOMER_REQUEST = "customer_request"
    LEGAL_OBLIGATION = "legal_obligation"
    COURT_ORDER = "court_order"


class WhatWasRead(StrEnum):
    """What of a subject's personal data the vendor's people read."""

    PROFILE = "profile"
    PROFILE_AS_OF = "profile as of a past moment"
    HISTORY = "history"
    CONSENT_RECEIPTS = "consent receipts"
    EXPORT = "export"
    DELIVERY = "delivered export"

    @property
    def takes_data_away(self) -> bool:
        return self in (WhatWasRead.EXPORT, WhatWasRead.DELIVERY)
