"""Consent per purpose and per channel: which decision stands, and what "may I?" answers.

A decision names a purpose and either one channel ("email") or none, which means every
channel of the purpose. Each (purpose, channel) pair has its own state: withdrawing SMS
leaves e-mail as it was. The decision that stands for a channel is the later of the last
decision made for that channel and the last one made for every channel, so "give for every
channel, then withdraw SMS" allows e-mail and refuses SMS, and a later "withdraw for every
channel" refuses both.

Decisions are kept as plain mappings {status, channel, since, notice_version, method,
version}, where `version` orders them (the subject's event version): the Subject aggregate
and the read models keep the same mappings and ask these functions, so the rule lives here
once. Anything never given is a no; so is anything about an erased person or a closed tenant.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.vocabulary import Channel, ConsentStatus

EVERY_CHANNEL = "*"  # the key under which a decision for every channel is kept
CHANNELS = tuple(channel.value for channel in Channel)

Decision = Mapping[str, Any]
Decisions = Mapping[str, Decision]  # channel (or EVERY_CHANNEL) -> its last decision

NEVER_GIVEN = "consent was never given"
WITHDRAWN = "consent was withdrawn"
ERASED = "the subject was erased"


def key(channel: str | None) -> str:
    return EVERY_CHANNEL if channel is None else channel


def standing(decisions: Decisions, channel: str) -> Decision | None:
    """The decision that stands for `channel`: its own or the every-channel one, the later."""
    own, every = decisions.get(channel), decisions.get(EVERY_CHANNEL)
    if own is None or every is None:
        return own or every
    return own if own["version"] > every["version"] else every


def latest(decisions: Decisions) -> Decision | None:
    """The last decision about the purpose, whichever channel it named."""
    return max(decisions.values(), key=lambda d: d["version"], default=None)


def is_given(decision: Decision | None) -> bool:
    return decision is not None and decision["status"] == ConsentStatus.GIVEN.value


def given_somewhere(decisions: Decisions) -> bool:
    return any(is_given(standing(decisions, channel)) for channel in CHANNELS)


def refusal(decision: Decision | None, *, erased: bool = False, closed: str | None = None) -> str | None:
    """Why "may I?" is no, or None when the decision allows. `closed` names why the subject's
    tenant is closed (it was terminated or purged), which refuses whatever was decided."""
    if erased:
        return ERASED
    if closed is not None:
        return closed
    if decision is None:
        return NEVER_GIVEN
    if not is_given(decision):
        return WITHDRAWN
    return None


def answer(
    decisions: Decisions, channel: str | None, *, erased: bool = False, closed: str | None = None
) -> dict[str, Any]:
    """What "may I use this purpose (on this channel)?" answers.

    For a channel: whether the decision standing for it allows. Without a channel: whether
    every channel is allowed (a consent for every channel stands and none was withdrawn
    since), with each channel's own answer under `channels`."""
    if channel is not None:
        decision = standing(decisions, channel)
        why = refusal(decision, erased=erased, closed=closed)
        return {"allowed": why is None, "reason": why, "decision": decision}
    per_channel = {
        name: answer(decisions, name, erased=erased, closed=closed) for name in CHANNELS
    }
    refused = [name for name, found in per_channel.items() if not found["allowed"]]
    why = None
    if refused:
        first = per_channel[refused[0]]["reason"]
        why = first if len(refused) == len(CHANNELS) else f"not on every channel: {first} for {', '.join(refused)}"
    return {
        "allowed": not refused, "reason": why, "decision": latest(decisions),
        "channels": per_channel,
    }


def standing_per_channel(decisions: Decisions) -> dict[str, Decision]:
    """Every channel that has a standing decision, with it (for profiles and exports)."""
    found = {}
    for channel in CHANNELS:
        decision = standing(decisions, channel)
        if decision is not None:
            found[channel] = decision
    return found


def summary(decisions: Decisions) -> dict[str, Any]:
    """A purpose's consent in a profile: its last decision (whichever channel it named, None
    meaning every channel) and, under `channels`, the decision standing for each channel."""
    last = latest(decisions)
    assert last is not None, "a purpose appears in a profile once something was decided"
    return {
        **_shown(last),
        "channels": {name: _shown(d) for name, d in standing_per_channel(decisions).items()},
    }


def _shown(decision: Decision) -> dict[str, Any]:
    return {k: decision[k] for k in ("status", "channel", "since", "notice_version", "method")}
