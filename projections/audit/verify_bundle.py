#!/usr/bin/env python3
"""Check a Compliance Ledger evidence bundle offline: python verify_bundle.py BUNDLE.zip --vkey VKEY

Needs only Python 3.9+ and the `cryptography` package; it imports nothing of the ledger, so
you can read every check below. It proves that each event in the bundle is, byte for byte, an
event of the log that the vendor signed (and, with --witness, that witnesses vouched for):

  1. checkpoint.note is a signed note (c2sp.org/signed-note) whose text is a checkpoint
     (c2sp.org/tlog-checkpoint: origin, tree size, base64 root) signed by the log's key.
     Pass the verifier key the vendor published (`ledger public-key --vkey`) as --vkey: the
     log.vkey inside the bundle came with the data it vouches for, so it only proves that the
     bundle agrees with itself.
  2. For every line of events.jsonl, the leaf bytes are rebuilt from the event's fields and the
     SHA-256 of its stored state; the leaf hash is SHA-256(0x00 || leaf bytes); its inclusion
     proof leads from that hash to the note's root (RFC 9162 section 2.1.3.2).
  3. Each --witness key (cosignature/v1, c2sp.org/tlog-cosignature) must have cosigned the note;
     at least --quorum of them (default: all).

What it cannot prove: that the vendor put every event of your tenant into the bundle. Keep the
note: any later checkpoint of the log must extend it (a consistency proof shows that).
Exit status: 0 all holds, 1 something failed (the first failure is named), 2 usage.
"""

import argparse
import base64
import binascii
import hashlib
import json
import struct
import sys
import zipfile

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ED25519, COSIGNATURE_V1 = 0x01, 0x04
DASH = "\u2014 "  # a signature line starts with an em dash and a space


class Failed(Exception):
    """What did not hold; the message is printed after "FAILED: "."""


# --- signed notes (c2sp.org/signed-note) ----------------------------------------------------------


def key_id(name, key_type, public_raw):
    return hashlib.sha256(name.encode() + b"\n" + bytes([key_type]) + public_raw).digest()[:4]


def parse_vkey(text, key_type, what):
    """name+hex(key id)+base64(type || 32-byte Ed25519 key) -> (name, key id, raw key)."""
    # Split at the first two '+' only: the base64 key may hold '+' itself.
    name, _, rest = text.strip().partition("+")
    hex_id, _, material = rest.partition("+")
    try:
        claimed, decoded = bytes.fromhex(hex_id), base64.b64decode(material, validate=True)
    except (ValueError, binascii.Error):
        raise Failed(f"{what} is not a verifier key (name+keyid+base64key)") from None
    if len(decoded) != 33 or decoded[0] != key_type:
        raise Failed(f"{what} is not an Ed25519 key of type 0x{key_type:02x}")
    if claimed != key_id(name, key_type, decoded[1:]):
        raise Failed(f"{what}: its key id does not match its name and key")
    return name, claimed, decoded[1:]


def parse_note(data):
    """-> (text, [(name, key id, signature bytes)]): text ends at the last blank line."""
    try:
        note = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Failed("checkpoint.note is not UTF-8 text") from None
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise Failed("checkpoint.note is not a signed note (text, blank line, signatures)")
    text, signatures = note[: split + 1], []
    for line in note[split + 2:].splitlines():
        name, _, encoded = line[len(DASH):].partition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raw = b""
        if not line.startswith(DASH) or not name or len(raw) < 5:
            raise Failed(f"checkpoint.note has a malformed signature line: {line!r}")
        signatures.append((name, raw[:4], raw[4:]))
    return text, signatures


def holds(public_raw, signature, message):
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def check_log_signature(text, signatures, log_key):
    """The spec's rule: a signature by a known key (name and id both match) must hold."""
    name, kid, raw = log_key
    mine = [s for n, k, s in signatures if n == name and k == kid]
    if not mine:
        raise Failed(f"checkpoint.note carries no signature by the log key {name}")
    if not all(holds(raw, s, text.encode()) for s in mine):
        raise Failed("the log's signature on checkpoint.note does not hold: the note was changed "
                     "or was not signed by this key")


def cosigned_at(text, signatures, witness):
    """When the witness cosigned the note (cosignature/v1), or None; Failed if it is forged."""
    name, kid, raw = witness
    times = []
    for n, k, signature in signatures:
        if n != name or k != kid:
            continue
        if len(signature) != 8 + 64:
            raise Failed(f"the cosignature of {name} is not 72 bytes")
        (timestamp,) = struct.unpack(">Q", signature[:8])
        message = f"cosignature/v1\ntime {timestamp}\n".encode() + text.encode()
        if not holds(raw, signature[8:], message):
            raise Failed(f"the cosignature of {name} does not hold: the note was changed")
        times.append(timestamp)
    return max(times) if times else None


def parse_checkpoint(text):
    """c2sp.org/tlog-checkpoint: origin, tree size (decimal), root (standard base64)."""
    lines = text.split("\n")
    try:
        origin, size, root = lines[0], lines[1], base64.b64decode(lines[2], validate=True)
    except (IndexError, binascii.Error):
        raise Failed("checkpoint.note does not hold a checkpoint") from None
    if not size.isdigit() or (size != "0" and size.startswith("0")) or len(root) != 32:
        raise Failed("checkpoint.note does not hold a checkpoint (size, 32-byte root)")
    return origin, int(size), root


# --- leaves and proofs (RFC 9162 section 2.1, docs/verifying.md section 3) -----------------------


def leaf_bytes(event, state):
    document = {
        "id": event["id"], "originator_id": event["originator_id"],
        "originator_version": event["originator_version"],
        "state_sha256": hashlib.sha256(state).hexdigest(), "topic": event["topic"],
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(leaf_hash, index, size, path):
    """RFC 9162 section 2.1.3.2, step by step; None when the proof has the wrong length."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def check_event(line, size, root):
    """Raises Failed naming the event and what does not hold."""
    try:
        event = json.loads(line)
        where = f"event id {event['id']} (leaf {event['index']})"
        state = base64.b64decode(event["state"], validate=True)
        leaf = base64.b64decode(event["leaf"], validate=True)
        claimed = bytes.fromhex(event["leaf_hash"])
        path = [bytes.fromhex(h) for h in event["inclusion_path"]]
        index = event["index"]
        if type(index) is not int:
            raise TypeError("the leaf index is a whole number")
        rebuilt = leaf_bytes(event, state)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise Failed(f"events.jsonl: a line is not an event as the bundle writes them: {line[:80]!r}") from None
    if rebuilt != leaf:
        raise Failed(f"{where}: its fields and stored state do not give its leaf bytes (changed)")
    if hashlib.sha256(b"\x00" + leaf).digest() != claimed:
        raise Failed(f"{where}: its leaf hash is not SHA-256(0x00 || leaf bytes)")
    if any(len(p) != 32 for p in path) or root_from_inclusion(claimed, index, size, path) != root:
        raise Failed(f"{where}: its inclusion proof does not lead to the signed root of "
                     f"{size} leaves (the event, its position or the proof was changed)")
    return event


def verify(bundle, vkey, witnesses, quorum, say):
    try:
        with zipfile.ZipFile(bundle) as archive:
            files = {name: archive.read(name) for name in archive.namelist()}
    except Exception as error:  # a damaged zip fails in many ways (CRC, zlib, headers): all the same here
        raise Failed(f"{bundle} is not a readable zip: {error}") from None
    missing = {"manifest.json", "checkpoint.note", "log.vkey", "events.jsonl"} - set(files)
    if missing:
        raise Failed(f"the bundle lacks {', '.join(sorted(missing))}")
    if vkey is None:
        vkey = files["log.vkey"].decode("utf-8", "replace")
        say("NOTE: no --vkey given: checking with the log.vkey inside the bundle, which only "
            "proves that the bundle agrees with itself. Pass the key the vendor published.")
    log_key = parse_vkey(vkey, ED25519, "the log's verifier key")
    text, signatures = parse_note(files["checkpoint.note"])
    check_log_signature(text, signatures, log_key)
    origin, size, root = parse_checkpoint(text)
    if origin != log_key[0]:
        raise Failed(f"the checkpoint is of the log {origin!r}, not of {log_key[0]!r}")
    try:
        manifest = json.loads(files["manifest.json"])
        tenant, expected = manifest["tenant"], manifest["counts"]["events"]
    except (ValueError, KeyError, TypeError):
        raise Failed("manifest.json is not the manifest the bundle writes") from None
    if (manifest.get("origin"), manifest.get("tree_size")) != (origin, size):
        raise Failed("manifest.json names another checkpoint than checkpoint.note")
    lines = [line for line in files["events.jsonl"].decode("utf-8", "replace").split("\n") if line]
    seen = set()
    for line in lines:
        event = check_event(line, size, root)
        if event["index"] in seen:
            raise Failed(f"event id {event['id']} appears twice")
        seen.add(event["index"])
    if len(lines) != expected:
        raise Failed(f"events.jsonl holds {len(lines)} events, the manifest says {expected}")
    cosigned, absent = [], []
    for given in witnesses:
        witness = parse_vkey(given, COSIGNATURE_V1, f"--witness {given}")
        when = cosigned_at(text, signatures, witness)
        (cosigned if when is not None else absent).append(witness[0])
    needed = len(witnesses) if quorum is None else quorum
    if len(cosigned) < needed:
        raise Failed(f"{len(cosigned)} of the named witnesses cosigned the checkpoint, "
                     f"{needed} needed; not cosigned by: {', '.join(absent)}")
    said = f"; cosigned by {', '.join(cosigned)}" if cosigned else ""
    return (f"OK: {len(lines)} events of tenant {tenant} are in the signed checkpoint of "
            f"{size} leaves of {origin}{said}")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Check a Compliance Ledger evidence bundle.")
    parser.add_argument("bundle", help="the evidence bundle (.zip)")
    parser.add_argument("--vkey", help="the log's verifier key, as the vendor published it")
    parser.add_argument("--witness", action="append", default=[], metavar="VKEY",
                        help="a witness's verifier key that must have cosigned (repeatable)")
    parser.add_argument("--quorum", type=int, metavar="K",
                        help="how many of the --witness keys must have cosigned (default: all)")
    args = parser.parse_args(argv)
    if args.quorum is not None and not 0 <= args.quorum <= len(args.witness):
        parser.error("--quorum must be between 0 and the number of --witness keys")
    try:
        print(verify(args.bundle, args.vkey, args.witness, args.quorum, print))
    except Failed as failure:
        print(f"FAILED: {failure}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
