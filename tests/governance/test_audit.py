"""The tamper-evident audit log: storage, proofs, and tampering named by ``verify``."""

from __future__ import annotations

import base64
import json
import multiprocessing
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from drivetrain.errors import InputError, IntegrityError, NotFound
from drivetrain.governance.audit import AuditLog, PendingEntry, canonical_json, load_public_key
from drivetrain.governance.merkle import MerkleTree, leaf_hash


def _fill(log: AuditLog, n: int) -> None:
    for i in range(n):
        log.append(
            "access",
            principal=f"analyst-{i % 3}",
            purpose="vehicle_health",
            details={"table": "telemetry", "version": i, "rows": 10 * i},
        )


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    audit = AuditLog(tmp_path)
    _fill(audit, 8)
    return audit


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")[:-1]


def _write_lines(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def _verify_fails(tmp_path: Path) -> str:
    with pytest.raises(IntegrityError) as caught:
        AuditLog(tmp_path).verify()  # a fresh reader, as 'drivetrain audit verify' is
    return str(caught.value)


# -- what is stored ------------------------------------------------------------------------


def test_append_stores_canonical_json_lines_and_signs_a_tree_head(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path)
    entry = audit.append(
        "consent", principal="svc:consent", purpose="personalisation", details={"b": 1, "a": "é"}
    )
    assert entry.seq == 0
    line = _lines(tmp_path / "audit" / "log.jsonl")[0]
    assert line.startswith(b'{"details":{"a":"\xc3\xa9","b":1},"kind":"consent"')
    assert b" " not in line
    assert entry.leaf_hash == leaf_hash(line)
    assert json.loads(line)["time"].endswith("Z")
    second = audit.append("admin", principal="root", purpose="operations", details={})
    assert second.seq == 1
    sth = audit.latest_sth()
    assert sth is not None and sth.tree_size == 2
    assert sth.root_hash == audit.root()
    assert sth.verify_signature(audit.public_key())
    assert len(_lines(tmp_path / "audit" / "sth.jsonl")) == 2  # one per append batch
    assert [e.kind for e in audit.entries()] == ["consent", "admin"]
    assert audit.entries(kind="admin") == [second]
    assert audit.get(1) == second
    with pytest.raises(NotFound, match="no entry #2"):
        audit.get(2)


def test_signing_key_is_private_and_its_public_key_exported(log: AuditLog, tmp_path: Path) -> None:
    key_path = tmp_path / "keys" / "audit_ed25519.pem"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    public = load_public_key(tmp_path / "keys" / "audit_ed25519.pub.pem")
    assert public.public_bytes_raw() == key.public_key().public_bytes_raw()
    secret = key.private_bytes_raw()
    for path in (tmp_path / "audit").iterdir():
        assert secret.hex() not in path.read_text() and secret not in path.read_bytes()
    assert "PRIVATE" not in repr(log)


def test_a_key_readable_by_others_is_refused(log: AuditLog, tmp_path: Path) -> None:
    (tmp_path / "keys" / "audit_ed25519.pem").chmod(0o644)
    with pytest.raises(IntegrityError, match="readable by others"):
        AuditLog(tmp_path).append("admin", principal="root", purpose="operations")


def test_batches_get_one_tree_head(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path)
    entries = audit.append_many(
        PendingEntry("access", "svc:health", "vehicle_health", {"vehicle": f"veh_{i}"})
        for i in range(5)
    )
    assert [e.seq for e in entries] == [0, 1, 2, 3, 4]
    assert len(_lines(tmp_path / "audit" / "sth.jsonl")) == 1
    assert audit.verify().entries == 5


def test_inclusion_and_consistency_proofs_check_against_signed_heads(log: AuditLog) -> None:
    old = log.latest_sth()
    assert old is not None and old.tree_size == 8
    _fill(log, 5)
    new = log.latest_sth()
    assert new is not None and new.tree_size == 13
    for seq in range(13):
        proof = log.inclusion_proof(seq)
        assert proof.tree_size == 13 and proof.verify(new.root_hash)
        assert not proof.verify(old.root_hash)
    assert log.inclusion_proof(3, tree_size=8).verify(old.root_hash)
    consistency = log.consistency_proof(old.tree_size)
    assert consistency.verify(old.root_hash, new.root_hash)
    assert not consistency.verify(new.root_hash, old.root_hash)
    with pytest.raises(InputError, match="not in a tree of 8"):
        log.inclusion_proof(9, tree_size=8)


def test_verify_reports_a_clean_log(log: AuditLog, tmp_path: Path) -> None:
    report = log.verify()
    assert (report.entries, report.tree_heads, report.uncovered) == (8, 8, 0)
    assert report.latest is not None and report.latest.tree_size == 8
    assert AuditLog(tmp_path / "empty").verify().entries == 0


def test_writers_in_several_processes_do_not_interleave(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_fill, args=(AuditLog(tmp_path), 25)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    report = AuditLog(tmp_path).verify()
    assert report.entries == 100 and report.tree_heads == 100 and report.uncovered == 0


def test_bad_entries_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path)
    with pytest.raises(InputError, match="lower-case identifier"):
        audit.append("Access!", principal="a", purpose="p")
    with pytest.raises(InputError, match="needs a principal"):
        audit.append("access", principal=" ", purpose="p")
    with pytest.raises(InputError, match="not plain JSON"):
        audit.append("access", principal="a", purpose="p", details={"x": {1, 2}})
    with pytest.raises(InputError, match="not plain JSON"):
        audit.append("access", principal="a", purpose="p", details={"x": float("nan")})
    assert not (tmp_path / "audit" / "log.jsonl").exists()


# -- tampering, each named by verify --------------------------------------------------------


def test_an_edited_byte_is_named(log: AuditLog, tmp_path: Path) -> None:
    path = tmp_path / "audit" / "log.jsonl"
    data = bytearray(path.read_bytes())
    lines = _lines(path)
    at = sum(len(line) + 1 for line in lines[:5]) + lines[5].index(b"analyst-2") + 8
    data[at] = ord("0")  # analyst-2 -> analyst-0: still valid, canonical JSON
    path.write_bytes(bytes(data))
    message = _verify_fails(tmp_path)
    assert "entry #5 (line 6 of log.jsonl) was altered" in message


def test_a_byte_that_breaks_the_canonical_form_is_named(log: AuditLog, tmp_path: Path) -> None:
    path = tmp_path / "audit" / "log.jsonl"
    lines = _lines(path)
    lines[2] = lines[2].replace(b'"kind":', b'"kind": ')
    _write_lines(path, lines)
    assert "entry #2 (line 3 of log.jsonl) is not in canonical form" in _verify_fails(tmp_path)


def test_a_removed_entry_is_named(log: AuditLog, tmp_path: Path) -> None:
    path = tmp_path / "audit" / "log.jsonl"
    lines = _lines(path)
    del lines[3]
    _write_lines(path, lines)
    message = _verify_fails(tmp_path)
    assert "entry #3 (line 4 of log.jsonl) holds entry #4" in message
    assert "removed" in message


def test_a_removed_entry_with_renumbering_is_still_named(log: AuditLog, tmp_path: Path) -> None:
    path = tmp_path / "audit" / "log.jsonl"
    objs = [json.loads(line) for line in _lines(path)]
    del objs[3]
    for seq, obj in enumerate(objs):
        obj["seq"] = seq
    _write_lines(path, [canonical_json(obj) for obj in objs])
    assert "entry #3 (line 4 of log.jsonl) was altered" in _verify_fails(tmp_path)


def test_two_swapped_entries_are_named(log: AuditLog, tmp_path: Path) -> None:
    path = tmp_path / "audit" / "log.jsonl"
    lines = _lines(path)
    lines[2], lines[6] = lines[6], lines[2]
    _write_lines(path, lines)
    assert "entry #2 (line 3 of log.jsonl) holds entry #6" in _verify_fails(tmp_path)


def test_a_truncated_file_is_named(log: AuditLog, tmp_path: Path) -> None:
    path = tmp_path / "audit" / "log.jsonl"
    data = path.read_bytes()
    path.write_bytes(data[: data.rindex(b"\n", 0, len(data) - 1) + 20])  # mid-line in entry 7
    assert "entry #7 (line 8 of log.jsonl) is incomplete" in _verify_fails(tmp_path)
    _write_lines(path, _lines(path)[:5])  # whole entries cut from the end
    message = _verify_fails(tmp_path)
    assert "entry #5 (line 6 of log.jsonl) is missing" in message
    assert "covers 6 entries but the log holds 5" in message


def test_a_forged_tree_head_is_named(log: AuditLog, tmp_path: Path) -> None:
    sth_path = tmp_path / "audit" / "sth.jsonl"
    heads = [json.loads(line) for line in _lines(sth_path)]
    original = list(heads)
    # An attacker edits entry 4 and writes tree heads matching the edit, signed with their key.
    path = tmp_path / "audit" / "log.jsonl"
    lines = _lines(path)
    lines[4] = lines[4].replace(b"vehicle_health", b"marketing_xyz")
    _write_lines(path, lines)
    forger = Ed25519PrivateKey.generate()
    tree = MerkleTree(leaf_hash(line) for line in lines)
    for head in heads[4:]:
        head["root_hash"] = tree.root(head["tree_size"]).hex()
        signed = (
            b"\x00\x01"
            + head["timestamp"].to_bytes(8, "big")
            + head["tree_size"].to_bytes(8, "big")
            + bytes.fromhex(head["root_hash"])
        )
        head["signature"] = base64.b64encode(forger.sign(signed)).decode()
    _write_lines(sth_path, [canonical_json(h) for h in heads])
    message = _verify_fails(tmp_path)
    assert "tree head #5 (line 5 of sth.jsonl) has an invalid signature" in message
    # Only the root changed, signature kept: also forged.
    heads = original
    heads[2]["root_hash"] = "00" * 32
    _write_lines(sth_path, [canonical_json(h) for h in heads])
    assert "tree head #3 (line 3 of sth.jsonl) has an invalid signature" in _verify_fails(tmp_path)


def test_reordered_tree_heads_are_named(log: AuditLog, tmp_path: Path) -> None:
    sth_path = tmp_path / "audit" / "sth.jsonl"
    lines = _lines(sth_path)
    lines[3], lines[4] = lines[4], lines[3]
    _write_lines(sth_path, lines)
    message = _verify_fails(tmp_path)
    assert "tree head #4 (line 5 of sth.jsonl) is smaller than the tree head before it" in message


def test_a_malformed_tree_head_is_named(log: AuditLog, tmp_path: Path) -> None:
    sth_path = tmp_path / "audit" / "sth.jsonl"
    lines = _lines(sth_path)
    lines[1] = lines[1][:-5]
    _write_lines(sth_path, lines)
    assert "line 2 of sth.jsonl is not a valid signed tree head" in _verify_fails(tmp_path)


def test_an_edit_inside_a_batch_names_the_batch(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path)
    audit.append_many(PendingEntry("access", "svc", "warranty", {"n": i}) for i in range(4))
    path = tmp_path / "audit" / "log.jsonl"
    lines = _lines(path)
    lines[2] = lines[2].replace(b'"n":2', b'"n":9')
    _write_lines(path, lines)
    assert "one of entries #0–#3 (lines 1–4) was altered" in _verify_fails(tmp_path)


def test_verify_with_an_outside_copy_of_the_public_key(log: AuditLog, tmp_path: Path) -> None:
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(IntegrityError, match="invalid signature"):
        log.verify(other)
    assert log.verify(load_public_key(tmp_path / "keys" / "audit_ed25519.pub.pem")).entries == 8


def test_a_log_whose_keys_were_deleted_fails(log: AuditLog, tmp_path: Path) -> None:
    for path in (tmp_path / "keys").iterdir():
        path.unlink()
    assert "its keys are gone" in _verify_fails(tmp_path)


def test_appending_refuses_a_log_cut_mid_line(log: AuditLog, tmp_path: Path) -> None:
    path = tmp_path / "audit" / "log.jsonl"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(IntegrityError, match=r"entry #7 .* is incomplete"):
        AuditLog(tmp_path).append("admin", principal="root", purpose="operations")
