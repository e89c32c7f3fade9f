"""RFC 9162 section 2.1 Merkle trees over stored complete subtrees.

leaf = SHA-256(0x00 || entry), node = SHA-256(0x01 || left || right). `node(level, index)` is the hash
of the complete subtree over leaves [index * 2^level, (index + 1) * 2^level). Any MTH(D[a:b]) whose
pieces are aligned is assembled from O(log n) of those, so proofs cost O(log n), never O(n).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

GetNode = Callable[[int, int], bytes]


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def largest_power_of_two_below(n: int) -> int:
    """k such that k < n <= 2k (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def mth(start: int, end: int, node: GetNode) -> bytes:
    """MTH(D[start:end]) from stored complete subtrees."""
    size = end - start
    if size <= 0:
        return EMPTY_ROOT
    if size & (size - 1) == 0 and start % size == 0:
        return node(size.bit_length() - 1, start // size)
    k = largest_power_of_two_below(size)
    return node_hash(mth(start, start + k, node), mth(start + k, end, node))


def inclusion_proof(index: int, size: int, node: GetNode) -> list[bytes]:
    """RFC 9162 2.1.3.1 PATH(m, D[0:n])."""
    if not 0 <= index < size:
        raise ValueError("index out of range")
    path, start, end = [], 0, size
    while end - start > 1:
        k = largest_power_of_two_below(end - start)
        if index < start + k:
            path.append(mth(start + k, end, node))
            end = start + k
        else:
            path.append(mth(start, start + k, node))
            start = start + k
    return list(reversed(path))


def consistency_proof(first: int, second: int, node: GetNode) -> list[bytes]:
    """RFC 9162 2.1.4.1 PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true)."""
    if not 0 < first <= second:
        raise ValueError("need 0 < first <= second")

    def subproof(m: int, start: int, end: int, b: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if b else [mth(start, end, node)]
        k = largest_power_of_two_below(n)
        if m <= k:
            return [*subproof(m, start, start + k, b), mth(start + k, end, node)]
        return [*subproof(m - k, start + k, end, False), mth(start, start + k, node)]

    return subproof(first, 0, second, True)


def root_of(leaves: list[bytes]) -> bytes:
    """MTH over leaf hashes held in memory (tests, audits of small logs)."""
    levels = {(0, i): h for i, h in enumerate(leaves)}

    def node(level: int, index: int) -> bytes:
        if (level, index) not in levels:
            levels[(level, index)] = node_hash(node(level - 1, 2 * index), node(level - 1, 2 * index + 1))
        return levels[(level, index)]

    return mth(0, len(leaves), node)


class RootStream:
    """O(log n) memory running root: feed leaf hashes in order, ask for the root at any point."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, bytes]] = []  # (size, hash) of complete subtrees, sizes decreasing
        self.size = 0

    def add(self, leaf: bytes) -> None:
        size, h = 1, leaf
        while self.stack and self.stack[-1][0] == size:
            left = self.stack.pop()[1]
            h, size = node_hash(left, h), size * 2
        self.stack.append((size, h))
        self.size += 1

    def root(self) -> bytes:
        if not self.stack:
            return EMPTY_ROOT
        h = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            h = node_hash(left, h)
        return h


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: list[bytes]) -> bool:
    """RFC 9162 2.1.4.2."""
    if first == second:
        return not proof and first_root == second_root
    if not 0 < first < second or not proof:
        return False
    if first & (first - 1) == 0:
        proof = [first_root, *proof]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_root and sr == second_root
