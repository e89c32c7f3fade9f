"""RFC 9162 known answers (shared/reference/merkle-vectors.json) and properties, checked with a verifier
written here from the RFC text, not with the code under test."""

import hashlib
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.domain import merkle

_SHARED = Path(__file__).resolve().parents[3] / "shared" / "reference" / "merkle-vectors.json"
_COPY = Path(__file__).resolve().parents[1] / "data" / "merkle-vectors.json"  # same file, for clones without shared/
VECTORS = json.loads((_SHARED if _SHARED.exists() else _COPY).read_text())


# ---- written from RFC 9162 section 2.1, independent of marketplace.domain.merkle ----

def H(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def rfc_mth(entries: list[bytes]) -> bytes:
    """2.1.1: MTH({}) = SHA-256(); MTH({d0}) = SHA-256(0x00 || d0); else split at k < n <= 2k."""
    n = len(entries)
    if n == 0:
        return H(b"")
    if n == 1:
        return H(b"\x00" + entries[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return H(b"\x01" + rfc_mth(entries[:k]) + rfc_mth(entries[k:]))


def rfc_verify_inclusion(leaf_index, tree_size, leaf_hash, path, root) -> bool:
    """2.1.3.2."""
    if leaf_index >= tree_size:
        return False
    fn, sn, r = leaf_index, tree_size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = H(b"\x01" + p + r)
            if fn % 2 == 0:
                while not (fn % 2 == 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = H(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def rfc_verify_consistency(first, second, first_hash, second_hash, path) -> bool:
    """2.1.4.2."""
    if first == second:
        return path == [] and first_hash == second_hash
    if not path:
        return False
    if first & (first - 1) == 0:
        path = [first_hash, *path]
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = H(b"\x01" + c + fr)
            sr = H(b"\x01" + c + sr)
            if fn % 2 == 0:
                while not (fn % 2 == 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = H(b"\x01" + sr + c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


# ---- a store of complete subtrees, like the database's ----

def store(entries: list[bytes]):
    leaves = [merkle.leaf_hash(e) for e in entries]
    nodes = {(0, i): h for i, h in enumerate(leaves)}
    level, width = 0, len(leaves)
    while width > 1:
        for i in range(width // 2):
            nodes[(level + 1, i)] = merkle.node_hash(nodes[(level, 2 * i)], nodes[(level, 2 * i + 1)])
        level, width = level + 1, width // 2
    return lambda lv, ix: nodes[(lv, ix)]


def test_known_answers():
    data = [bytes.fromhex(h) for h in VECTORS["leaf_inputs_hex"]]
    for n, root in VECTORS["roots_hex_by_tree_size"].items():
        assert rfc_mth(data[:int(n)]).hex() == root
        assert merkle.root_of([merkle.leaf_hash(d) for d in data[:int(n)]]).hex() == root
    get = store(data)
    for c in VECTORS["inclusion"]:
        assert [h.hex() for h in merkle.inclusion_proof(c["leaf_index"], c["tree_size"], get)] == c["path_hex"]
    for c in VECTORS["consistency"]:
        assert [h.hex() for h in merkle.consistency_proof(c["first"], c["second"], get)] == c["proof_hex"]


@settings(max_examples=150)
@given(st.integers(1, 300), st.data())
def test_every_proof_verifies_and_any_altered_hash_fails(n, data):
    entries = [i.to_bytes(4, "big") for i in range(n)]
    get = store(entries)
    root = rfc_mth(entries)
    assert merkle.mth(0, n, get) == root
    i = data.draw(st.integers(0, n - 1))
    path = merkle.inclusion_proof(i, n, get)
    leaf = H(b"\x00" + entries[i])
    assert rfc_verify_inclusion(i, n, leaf, path, root)
    assert merkle.verify_inclusion(leaf, i, n, path, root)
    m = data.draw(st.integers(1, n))
    proof = merkle.consistency_proof(m, n, get)
    first_root = rfc_mth(entries[:m])
    assert rfc_verify_consistency(m, n, first_root, root, proof)
    assert merkle.verify_consistency(m, n, first_root, root, proof)
    if path:
        j = data.draw(st.integers(0, len(path) - 1))
        bad = [*path]
        bad[j] = bytes([bad[j][0] ^ 1]) + bad[j][1:]
        assert not rfc_verify_inclusion(i, n, leaf, bad, root)
        assert not merkle.verify_inclusion(leaf, i, n, bad, root)
    if proof:
        j = data.draw(st.integers(0, len(proof) - 1))
        bad = [*proof]
        bad[j] = bytes([bad[j][0] ^ 1]) + bad[j][1:]
        assert not rfc_verify_consistency(m, n, first_root, root, bad)
        assert not merkle.verify_consistency(m, n, first_root, root, bad)


@given(st.lists(st.binary(max_size=8), max_size=200))
def test_streaming_root_matches(entries):
    s = merkle.RootStream()
    for e in entries:
        s.add(merkle.leaf_hash(e))
    assert s.root() == rfc_mth(entries)
