"""`marketplace log audit`: recompute the log from its entries and check every stored checkpoint.

Local (the database) or remote (`--url`, through the public endpoints only). Prints what it checked;
returns the problems found, each naming the index or tree size."""

from __future__ import annotations

import base64
import itertools
import json
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator

from ..domain import merkle
from .note import NoteError, open_note

PAGE = 1000


class Source:
    """Where the audit reads: entries (index, data, stored leaf or None), checkpoints, proofs, key."""

    key: str
    checkpoints: list[tuple[int, str]]
    entries: Callable[[int, int], Iterator[tuple[int, bytes, bytes | None]]]
    consistency: Callable[[int, int], list[bytes]]
    stored_root: Callable[[int], bytes | None]


def local_source() -> Source:
    from sqlalchemy import select

    from ..extensions import db
    from . import service
    from .models import Checkpoint, LogEntry, LogNode

    src = Source()
    src.key = service.verifier_key()
    src.checkpoints = [(c.tree_size, c.note) for c in db.session.scalars(select(Checkpoint)
                                                                         .order_by(Checkpoint.tree_size))]

    def entries(start: int, end: int):
        end = min(end, service.size())
        for pos in range(start, end, PAGE):
            rows = db.session.execute(
                select(LogEntry.idx, LogEntry.data, LogNode.hash)
                .outerjoin(LogNode, (LogNode.level == 0) & (LogNode.idx == LogEntry.idx))
                .where(LogEntry.idx >= pos, LogEntry.idx < min(end, pos + PAGE)).order_by(LogEntry.idx)).all()
            yield from rows

    src.entries = entries
    src.consistency = service.consistency
    src.stored_root = service.root
    return src


def remote_source(base: str) -> Source:
    def get(path: str, **params):
        url = f"{base.rstrip('/')}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        with urllib.request.urlopen(url, timeout=30) as r:  # noqa: S310 (the auditor's chosen URL)
            return r.read().decode()

    src = Source()
    src.key = get("/api/v1/log/key").strip()
    get("/api/v1/log/checkpoint")  # the service signs a head for its current size if it has none yet
    src.checkpoints, after = [], -1
    while True:
        items = json.loads(get("/api/v1/log/checkpoints", after=after))["items"]
        if not items:
            break
        src.checkpoints += [(i["treeSize"], i["checkpoint"]) for i in items]
        after = items[-1]["treeSize"]

    def entries(start: int, end: int):
        if not src.checkpoints:
            return
        end = min(end, src.checkpoints[-1][0])
        for pos in range(start, end, PAGE):
            for e in json.loads(get("/api/v1/log/entries", start=pos, end=min(end, pos + PAGE)))["entries"]:
                yield e["index"], base64.b64decode(e["data"]), None

    src.entries = entries
    src.consistency = lambda a, b: [base64.b64decode(h) for h in json.loads(
        get("/api/v1/log/proofs/consistency", first=a, second=b))["consistencyProof"]]
    src.stored_root = lambda n: None
    return src


def audit(src: Source, say: Callable[[str], None]) -> list[str]:
    problems: list[str] = []
    heads = []
    for size, text in src.checkpoints:
        try:
            _origin, n, root = open_note(text, src.key)
        except NoteError as e:
            problems.append(f"checkpoint {size}: {e}")
            continue
        if n != size:
            problems.append(f"checkpoint {size}: the signed note says size {n}")
            continue
        heads.append((n, root))
    say(f"{len(heads)} checkpoint(s) carry a valid signature by {src.key.split('+')[0]}")
    if not heads and not src.checkpoints and not any(True for _ in src.entries(0, 1)):
        say("the log is empty: nothing more to check")
        return problems
    if not heads:
        return [*problems, "no verifiable checkpoint"]
    latest = heads[-1][0]
    stream, want, expected = merkle.RootStream(), dict(heads), 0
    if 0 in want and want[0] != merkle.EMPTY_ROOT:
        problems.append("checkpoint 0: root is not the empty-tree hash")
    for idx, data, stored_leaf in src.entries(0, latest):
        if idx != expected:
            problems.append(f"index {expected}: missing (next entry is {idx}); indexes must be dense")
            break
        leaf = merkle.leaf_hash(bytes(data))
        if stored_leaf is not None and bytes(stored_leaf) != leaf:
            problems.append(f"index {idx}: the stored leaf hash does not match the entry")
        stream.add(leaf)
        expected += 1
        if stream.size in want and stream.root() != want[stream.size]:
            problems.append(f"tree size {stream.size}: recomputed root differs from the signed checkpoint "
                            f"(an entry at or below index {idx} was altered)")
    say(f"recomputed {stream.size} leaves; root at size {latest}: {base64.b64encode(stream.root()).decode()}")
    if expected < latest:
        problems.append(f"only {expected} of {latest} entries could be read")
    stored = src.stored_root(latest)
    if stored is not None and stored != want[latest]:
        problems.append(f"tree size {latest}: the stored subtree hashes give another root than the checkpoint")
    for (a, ra), (b, rb) in itertools.pairwise(heads):
        if a == 0:
            continue
        if not merkle.verify_consistency(a, b, ra, rb, src.consistency(a, b)):
            problems.append(f"checkpoints {a} -> {b}: not consistent")
    say(f"checked consistency between {max(0, len(heads) - 1)} pair(s) of consecutive checkpoints")
    return problems
