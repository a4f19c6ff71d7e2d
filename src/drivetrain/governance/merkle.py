"""RFC 6962 / RFC 9162 Merkle tree hashing, inclusion and consistency proofs.

The hashes are exactly those of Certificate Transparency (RFC 9162 §2.1):

- the hash of the empty tree is ``SHA-256()``;
- a leaf hash is ``SHA-256(0x00 || entry)``;
- an interior node is ``SHA-256(0x01 || left || right)``;
- the tree of ``n > 1`` leaves splits at ``k``, the largest power of two
  smaller than ``n``: ``MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n]))``.

:class:`MerkleTree` keeps every leaf hash and the hash of every complete,
aligned subtree of ``2**h`` leaves, so an append costs O(1) amortised and a
root or proof of any prefix of the tree costs O(log n) hashes.
:func:`verify_inclusion` and :func:`verify_consistency` are the verification
algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2; they need nothing but hashes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from hashlib import sha256

from drivetrain.errors import InputError

HASH_SIZE = 32
EMPTY_ROOT = sha256(b"").digest()
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"


def leaf_hash(entry: bytes) -> bytes:
    """``SHA-256(0x00 || entry)``: the hash of one log entry."""
    return sha256(LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: the hash of an interior node."""
    return sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An append-only Merkle tree over leaf hashes, answering for any prefix of itself."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        # _levels[h][i] is the hash of leaves [i * 2**h, (i + 1) * 2**h).
        self._levels: list[list[bytes]] = [[]]
        for hashed in leaf_hashes:
            self.append_hash(hashed)

    def __len__(self) -> int:
        return len(self._levels[0])

    @property
    def size(self) -> int:
        return len(self._levels[0])

    def append(self, entry: bytes) -> bytes:
        """Add ``entry`` as the next leaf; returns its leaf hash."""
        hashed = leaf_hash(entry)
        self.append_hash(hashed)
        return hashed

    def append_hash(self, hashed: bytes) -> None:
        """Add a leaf given its leaf hash."""
        if len(hashed) != HASH_SIZE:
            raise InputError(f"a leaf hash has {HASH_SIZE} bytes, this one {len(hashed)}")
        self._levels[0].append(hashed)
        index, height = len(self._levels[0]) - 1, 0
        while index % 2 == 1:  # completes a subtree one level up
            level = self._levels[height]
            combined = node_hash(level[index - 1], level[index])
            height += 1
            if height == len(self._levels):
                self._levels.append([])
            self._levels[height].append(combined)
            index //= 2

    def leaf(self, index: int) -> bytes:
        """The leaf hash at ``index``."""
        self._check_index(index, self.size)
        return self._levels[0][index]

    def root(self, size: int | None = None) -> bytes:
        """``MTH`` of the first ``size`` leaves (default: all of them)."""
        size = self._check_size(size)
        if size == 0:
            return EMPTY_ROOT
        return self._subtree(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The audit path ``PATH(index, D[0:size])`` of RFC 6962 §2.1.1."""
        size = self._check_size(size)
        self._check_index(index, size)
        return self._path(index, 0, size)

    def consistency_proof(self, old_size: int, size: int | None = None) -> list[bytes]:
        """``PROOF(old_size, D[0:size])`` of RFC 6962 §2.1.2; empty when the sizes are equal."""
        size = self._check_size(size)
        if not 0 < old_size <= size:
            raise InputError(
                f"a consistency proof needs 0 < old size <= {size}, got old size {old_size}"
            )
        if old_size == size:
            return []
        return self._subproof(old_size, 0, size, True)

    # -- internals: every range reached below is [start, start + n) with the recursion of the RFC

    def _subtree(self, start: int, n: int) -> bytes:
        if n & (n - 1) == 0 and start % n == 0:  # complete aligned subtree: cached
            return self._levels[n.bit_length() - 1][start // n]
        k = _split(n)
        return node_hash(self._subtree(start, k), self._subtree(start + k, n - k))

    def _path(self, m: int, start: int, n: int) -> list[bytes]:
        if n == 1:
            return []
        k = _split(n)
        if m < k:
            return [*self._path(m, start, k), self._subtree(start + k, n - k)]
        return [*self._path(m - k, start + k, n - k), self._subtree(start, k)]

    def _subproof(self, m: int, start: int, n: int, complete: bool) -> list[bytes]:
        if m == n:
            return [] if complete else [self._subtree(start, n)]
        k = _split(n)
        if m <= k:
            return [*self._subproof(m, start, k, complete), self._subtree(start + k, n - k)]
        return [*self._subproof(m - k, start + k, n - k, False), self._subtree(start, k)]

    def _check_size(self, size: int | None) -> int:
        if size is None:
            return self.size
        if not 0 <= size <= self.size:
            raise InputError(f"the tree has {self.size} leaves; size {size} is out of range")
        return size

    @staticmethod
    def _check_index(index: int, size: int) -> None:
        if not 0 <= index < size:
            raise InputError(f"leaf index {index} is outside a tree of {size} leaves")


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` shows the leaf hash ``leaf`` at ``index`` in the tree ``root`` of ``size``.

    The algorithm of RFC 9162 §2.1.3.2.
    """
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, size: int, old_root: bytes, root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree ``old_root`` of ``old_size`` is a prefix of ``root``.

    The algorithm of RFC 9162 §2.1.4.2, plus the trivial cases it leaves to the
    caller: an empty old tree is a prefix of any tree, and equal sizes need
    equal roots and an empty proof.
    """
    if not 0 <= old_size <= size:
        return False
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if old_size == size:
        return not proof and old_root == root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # old tree is a complete subtree: its root starts the path
        path.insert(0, old_root)
    fn, sn = old_size - 1, size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == root and sn == 0
