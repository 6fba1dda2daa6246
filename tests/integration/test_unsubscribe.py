"""One-click unsubscribe links: no login, purpose-bound, unforgeable, idempotent, dead after erasure."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from api import keyfiles
from api.services.unsubscribe import (
    UnsubscribeLinkInvalid,
    confirmation_page,
    list_unsubscribe_headers,
    mint_token,
    mint_unsubscribe_url,
    read_unsubscribe_token,
    unsubscribe,
    unsubscribe_secret,
    unsubscribe_with_token,
)
from api.settings import Settings
from api.bootstrap import Stores, open_stores
from domain.clock import MovableClock
from domain.errors import InvalidInput, NotFound
from tests.conftest import make_settings


@pytest.fixture
def database_url(durable_database_url: str) -> str:
    """Journeys through the store run on a SQLite file and PostgreSQL."""
    return durable_database_url


@pytest.fixture
def mem_settings(tmp_path: Path) -> Settings:
    return make_settings("memory://", tmp_path / "mem", public_url="https://ledger.example/")


@pytest.fixture
def memory(mem_settings: Settings) -> Iterator[Stores]:
    """For what the store does not take part in: the tokens themselves."""
    opened = open_stores(mem_settings, clock=MovableClock())
    yield opened
    opened.close()


def _token(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _subscribed(stores: Stores, *purposes: str):
    ledger = stores.ledger
    tenant = ledger.open_tenant("Acme", "officer").aggregate
    subject = ledger.register_subject("Ann", "ann@example.org", "app", tenant.id).aggregate
    for purpose in purposes:
        ledger.give_consent(subject.id, purpose, "double_opt_in", "v2", "app", channel="email")
    return subject


def _events(stores: Stores) -> int:
    return stores.ledger.recorder.max_notification_id() or 0


def test_following_the_link_withdraws_that_consent_and_only_that_one(
    stores: Stores, settings: Settings
) -> None:
    subject = _subscribed(stores, "product_mail", "blog_mail")
    secret = unsubscribe_secret(stores.keys)
    url = mint_unsubscribe_url(settings, secret, subject.id, "product_mail", "email")

    purpose, outcome = unsubscribe_with_token(stores.ledger, secret, _token(url))

    assert purpose == "product_mail" and outcome is not None
    after = stores.ledger.subject(subject.id)
    assert after.consents["product_mail"]["email"]["status"] == "withdrawn"
    assert after.consents["product_mail"]["email"]["method"] == "unsubscribe_link"
    assert after.consents["blog_mail"]["email"]["status"] == "given"
    assert not after.is_allowed("product_mail", "email")


def test_the_link_lives_under_the_public_url_and_carries_the_one_click_headers(
    memory: Stores, mem_settings: Settings
) -> None:
    subject = _subscribed(memory, "info_mail")
    url = mint_unsubscribe_url(mem_settings, unsubscribe_secret(memory.keys), subject.id, "info_mail")
    assert url.startswith(mem_settings.public_url.rstrip("/") + "/v1/unsubscribe/")
    assert list_unsubscribe_headers(url) == {
        "List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"
    }


def test_a_second_click_and_a_click_on_something_never_given_record_nothing(
    stores: Stores, settings: Settings
) -> None:
    subject = _subscribed(stores, "info_mail")
    secret = unsubscribe_secret(stores.keys)
    token = mint_token(secret, subject.id, "info_mail")
    unsubscribe_with_token(stores.ledger, secret, token)
    before = _events(stores)

    assert unsubscribe_with_token(stores.ledger, secret, token)[1] is None
    never = mint_token(secret, subject.id, "market_research")
    assert unsubscribe_with_token(stores.ledger, secret, never)[1] is None
    assert _events(stores) == before


def test_a_forged_or_altered_link_is_not_found(memory: Stores, mem_settings: Settings) -> None:
    subject = _subscribed(memory, "info_mail")
    secret = unsubscribe_secret(memory.keys)
    token = mint_token(secret, subject.id, "info_mail")
    forged = mint_token(b"x" * 32, subject.id, "info_mail")
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[17:26] = b"blog_mail"  # the same length: another purpose, the old signature
    other_purpose = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    altered = [token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
               for i in range(len(token))]

    for bad in [forged, other_purpose, token[:-1], token + "A", "", "not-a-token!", *altered]:
        with pytest.raises(UnsubscribeLinkInvalid):
            read_unsubscribe_token(secret, bad)
    assert memory.ledger.subject(subject.id).is_allowed("info_mail", "email")
    assert issubclass(UnsubscribeLinkInvalid, NotFound)


def test_the_link_stops_working_once_the_subject_is_erased(stores: Stores, settings: Settings) -> None:
    subject = _subscribed(stores, "info_mail")
    secret = unsubscribe_secret(stores.keys)
    token = mint_token(secret, subject.id, "info_mail")
    stores.ledger.erase_subject(subject.id, "officer")
    before = _events(stores)

    with pytest.raises(UnsubscribeLinkInvalid) as error:
        unsubscribe_with_token(stores.ledger, secret, token)
    assert "not valid" in error.value.detail
    assert _events(stores) == before


def test_a_link_for_nobody_is_not_found_and_an_unknown_purpose_cannot_be_minted(
    memory: Stores, mem_settings: Settings
) -> None:
    secret = unsubscribe_secret(memory.keys)
    with pytest.raises(UnsubscribeLinkInvalid):
        unsubscribe(memory.ledger, uuid4(), "info_mail", None)
    with pytest.raises(InvalidInput) as error:
        mint_token(secret, uuid4(), "telepathy")
    assert error.value.field == "purpose"


def test_the_link_key_is_derived_and_is_neither_the_root_nor_a_kek_nor_the_auth_secret(
    memory: Stores, mem_settings: Settings,
) -> None:
    secret = unsubscribe_secret(memory.keys)
    assert secret == unsubscribe_secret(memory.keys)  # stable: links keep working after a restart
    assert secret != memory.keys.derivation_root()
    assert all(secret not in f.read_bytes() for f in (mem_settings.data_dir / "keys").iterdir())
    assert secret != keyfiles.auth_secret(mem_settings).encode()
    assert len(secret) == 32


def test_opening_the_link_shows_a_button_that_posts_and_changes_nothing_by_itself() -> None:
    page = confirmation_page("AQ-tok_en", "third_party_marketing", done=False)
    assert '<form method="post" action="/v1/unsubscribe/AQ-tok_en">' in page
    assert "marketing by third parties" in page
    assert "You are unsubscribed" in confirmation_page("AQ-tok_en", "info_mail", done=True)
    assert "<script>" not in confirmation_page('"><script>', "info_mail", done=False)
