"""What the portal keeps of a sign-in at an identity provider, on every store: a pending sign-in
is used once, a provider session is checked by one request at a time, and a session the
provider ended says why exactly once (projections/storage/portal_sign_ins.py)."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from api.bootstrap import Stores
from projections.storage.portal_sessions import SessionStore
from projections.storage.portal_sign_ins import PendingSignIn, ProviderSession, SignInStore

PENDING = PendingSignIn(state="s" * 43, nonce="n" * 43, code_verifier="v" * 86)


def test_a_pending_sign_in_is_taken_once_even_by_answers_arriving_together(stores: Stores) -> None:
    sign_ins = SignInStore(stores.db)
    sign_ins.begin("browser-1", PENDING, time.time() + 600)

    with ThreadPoolExecutor(4) as pool:
        taken = list(pool.map(lambda _: sign_ins.take("browser-1"), range(4)))

    assert [t for t in taken if t is not None] == [PENDING]
    assert sign_ins.take("browser-1") is None


def test_a_pending_sign_in_past_its_ten_minutes_is_not_taken(stores: Stores) -> None:
    sign_ins = SignInStore(stores.db)
    sign_ins.begin("browser-2", PENDING, time.time() - 1)

    assert sign_ins.take("browser-2") is None


def _signed_in(stores: Stores) -> tuple[SignInStore, str]:
    sign_ins = SignInStore(stores.db)
    session_id = sign_ins.start_session(
        SessionStore(stores.db), "carla", uuid.uuid4(), time.time() + 3600,
        lambda _digest: ProviderSession(
            issuer="https://id.example.com", subject="carla", kid="first", sealed_id_token="i",
            sealed_refresh_token="r", check_at=100, ended=None,
        ),
    )
    return sign_ins, session_id


def test_only_one_request_at_a_time_asks_the_provider_about_a_session(stores: Stores) -> None:
    sign_ins, session_id = _signed_in(stores)

    assert sign_ins.claim_check(session_id, 100, 200)
    assert not sign_ins.claim_check(session_id, 100, 200)  # a second request saw check_at 100 too
    assert sign_ins.find(session_id).check_at == 200  # type: ignore[union-attr]


def test_a_session_the_provider_ended_is_gone_and_says_why_once(stores: Stores) -> None:
    sign_ins, session_id = _signed_in(stores)

    sign_ins.end(session_id, "provider-refused")

    assert SessionStore(stores.db).find(session_id) is None
    found = sign_ins.find(session_id)
    assert found is not None and found.sealed_refresh_token is None  # the tokens are forgotten
    assert sign_ins.told(session_id) == "provider-refused"
    assert sign_ins.told(session_id) is None
