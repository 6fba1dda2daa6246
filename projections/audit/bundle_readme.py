"""The README.txt of an evidence bundle: what is in it and how an auditor checks it."""

from __future__ import annotations

from typing import Any

_README = """\
Compliance Ledger evidence bundle
=================================

Tenant:      {tenant}
Period:      {since} (inclusive) to {until} (exclusive), by each event's time
Made:        {created_at}
Log:         {origin}
Checkpoint:  {tree_size} events, root {root_hash}

This bundle holds {events} access-log events of the tenant: every access of the vendor's people
to the tenant's data and every refusal, the access requests and grants behind them (requested,
approved, denied, revoked, expired, ended), disclosures to third parties, the vendor's reads of
the tenant's subjects' personal data, and the tenant's purge. {newer} more events of the tenant
in the period came after the checkpoint below and are not in this bundle; a later bundle holds
them.

Files
-----
events.jsonl        one event per line (JSON):
                      id, originator_id, originator_version, topic   the event as stored
                      state          its stored bytes, base64 (personal fields stay encrypted)
                      leaf           its leaf bytes, base64: the JSON
                                     {{"id":..,"originator_id":"..","originator_version":..,
                                     "state_sha256":"<SHA-256 of state>","topic":".."}}
                                     with keys sorted and no spaces
                      leaf_hash      SHA-256(0x00 || leaf), hex
                      index          its position (leaf index) in the log
                      inclusion_path its RFC 9162 inclusion proof to the checkpoint, hex,
                                     nearest the leaf first
                      data           a readable decoding, personal fields as "***" (not
                                     part of any hash: do not rely on it, rely on state)
checkpoint.note     the signed checkpoint (c2sp.org/tlog-checkpoint as a c2sp.org/signed-note):
                    the log's origin, tree size and base64 root, the log's signature and each
                    witness's cosignature (c2sp.org/tlog-cosignature)
log.vkey            the log's verifier key, as `ledger public-key --vkey` prints it
log-public-key.pem  the same Ed25519 key as PEM
manifest.json       tenant, period, counts, checkpoint, when the bundle was made
verify_bundle.py    the checker: Python 3.9+ and the `cryptography` package, nothing else

Checking it
-----------
    pip install cryptography
    python verify_bundle.py THIS.zip --vkey "<the verifier key the vendor published>"
    python verify_bundle.py THIS.zip --vkey "..." --witness "<a witness's key>" [--quorum K]

It exits 0 and prints "OK: N events ..." when every event's leaf, leaf hash and inclusion proof
lead to the root that the log signed; otherwise 1, naming the first thing that does not hold.

Get the verifier key out of band (the vendor's website, your contract): the log.vkey in this
bundle came with the data it vouches for, so checking with it only shows that the bundle
agrees with itself. Witnesses' keys come from the witnesses (you may run one yourself:
`ledger witness serve`). verify_bundle.py is short: read it, or write your own from
docs/verifying.md, RFC 9162 section 2.1 and the C2SP specifications.

The bundle proves that each event in it is in the signed log, unchanged and in its place. It
cannot prove that the vendor left none out. Keep checkpoint.note: every later checkpoint of the
log must extend it (RFC 9162 consistency proofs, `ledger verify --trusted-checkpoint`).
"""


def readme(manifest: dict[str, Any]) -> str:
    counts = manifest["counts"]
    fields = {**manifest, "events": counts["events"], "newer": counts["newer_than_checkpoint"]}
    fields["since"] = manifest["since"] or "the beginning"
    fields["until"] = manifest["until"] or "the checkpoint"
    return _README.format(**fields)
