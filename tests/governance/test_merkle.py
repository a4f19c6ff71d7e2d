"""RFC 6962 Merkle hashing against an independent, literal transcription of the RFC."""

from __future__ import annotations

import hashlib

import pytest

from drivetrain.errors import InputError
from drivetrain.governance.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)

# -- the RFC, written out naively: recursion over lists of entries, nothing cached ----------


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return _h(b"")
    if n == 1:
        return _h(b"\x00" + d[0])
    k = _k(n)
    return _h(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:]))


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def ref_proof(m: int, d: list[bytes]) -> list[bytes]:
    return ref_subproof(m, d, True)


ENTRIES = [f"entry {i}".encode() for i in range(70)]

# RFC 6962 test vectors (certificate-transparency reference implementation).
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


@pytest.fixture(scope="module")
def tree() -> MerkleTree:
    t = MerkleTree()
    for entry in ENTRIES:
        t.append(entry)
    return t


def test_hash_prefixes_follow_the_rfc() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"abc") == _h(b"\x00abc")
    assert node_hash(b"L" * 32, b"R" * 32) == _h(b"\x01" + b"L" * 32 + b"R" * 32)
    assert MerkleTree().root() == EMPTY_ROOT


def test_rfc6962_test_vectors() -> None:
    t = MerkleTree()
    for n, (entry, expected) in enumerate(zip(CT_LEAVES, CT_ROOTS, strict=True), start=1):
        t.append(entry)
        assert t.root().hex() == expected, f"root of {n} leaves"
        assert ref_mth(CT_LEAVES[:n]).hex() == expected
    # Audit path of leaf 0 in the 8-leaf tree, from the same reference suite.
    assert [p.hex() for p in t.inclusion_proof(0, 8)] == [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]


@pytest.mark.parametrize("n", range(1, 71))
def test_roots_and_inclusion_proofs_match_the_reference(tree: MerkleTree, n: int) -> None:
    d = ENTRIES[:n]
    root = tree.root(n)
    assert root == ref_mth(d)
    # A tree built only up to n agrees with the prefix of the larger tree.
    assert MerkleTree(leaf_hash(e) for e in d).root() == root
    for m in range(n):
        proof = tree.inclusion_proof(m, n)
        assert proof == ref_path(m, d)
        assert verify_inclusion(leaf_hash(d[m]), m, n, proof, root)


@pytest.mark.parametrize("n", range(1, 71))
def test_consistency_proofs_match_the_reference(tree: MerkleTree, n: int) -> None:
    d = ENTRIES[:n]
    root = tree.root(n)
    for m in range(1, n + 1):
        proof = tree.consistency_proof(m, n)
        expected = [] if m == n else ref_proof(m, d)
        assert proof == expected
        assert verify_consistency(m, n, ref_mth(d[:m]), root, proof), (m, n)


def test_tampered_inclusion_proofs_fail(tree: MerkleTree) -> None:
    n, m = 37, 21
    root, leaf = tree.root(n), tree.leaf(m)
    proof = tree.inclusion_proof(m, n)
    assert verify_inclusion(leaf, m, n, proof, root)
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
        assert not verify_inclusion(leaf, m, n, bad, root)
    assert not verify_inclusion(leaf, m + 1, n, proof, root)  # wrong index
    # The size is not hashed: it only has to shape the path (37 and 38 shape it alike).
    assert not verify_inclusion(leaf, m, 2 * n, proof, root)  # wrong size
    assert not verify_inclusion(tree.leaf(m + 1), m, n, proof, root)  # wrong leaf
    assert not verify_inclusion(leaf, m, n, proof[:-1], root)  # short path
    assert not verify_inclusion(leaf, m, n, [*proof, proof[0]], root)  # long path
    assert not verify_inclusion(leaf, m, n, proof, tree.root(n + 1))  # other root
    assert not verify_inclusion(leaf, n, n, proof, root)  # index outside the tree


def test_tampered_consistency_proofs_fail(tree: MerkleTree) -> None:
    for m, n in ((5, 70), (8, 13), (1, 2), (31, 64)):
        old, new = tree.root(m), tree.root(n)
        proof = tree.consistency_proof(m, n)
        assert verify_consistency(m, n, old, new, proof)
        for i in range(len(proof)):
            bad = list(proof)
            bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
            assert not verify_consistency(m, n, old, new, bad), (m, n, i)
        assert not verify_consistency(m, n, tree.root(m + 1), new, proof)
        assert not verify_consistency(m, n, old, tree.root(n - 1), proof)
        assert not verify_consistency(m, n, old, new, [])
        assert not verify_consistency(m, n, old, new, [*proof, proof[0]])
        assert not verify_consistency(n, m, new, old, proof)
    assert verify_consistency(0, 10, EMPTY_ROOT, tree.root(10), [])
    assert verify_consistency(10, 10, tree.root(10), tree.root(10), [])
    assert not verify_consistency(10, 10, tree.root(10), tree.root(11), [])


def test_out_of_range_requests_are_input_errors(tree: MerkleTree) -> None:
    with pytest.raises(InputError, match="outside a tree of 70"):
        tree.inclusion_proof(70)
    with pytest.raises(InputError, match="out of range"):
        tree.root(71)
    with pytest.raises(InputError, match="0 < old size"):
        tree.consistency_proof(0)
    with pytest.raises(InputError, match="32 bytes"):
        MerkleTree([b"short"])
