"""Public log API: checkpoint, verifier key, proofs, entries, stored checkpoints."""

from __future__ import annotations

import base64

from flask import Response
from sqlalchemy import select

from ..errors import Unprocessable
from ..extensions import db
from ..web.blueprint import Blueprint
from ..web.guard import public
from . import service
from .models import Checkpoint
from .schemas import (
    CheckpointList,
    CheckpointsQuery,
    ConsistencyOut,
    ConsistencyQuery,
    EntriesOut,
    EntriesQuery,
    InclusionOut,
    InclusionQuery,
)

bp = Blueprint("log", __name__, url_prefix="/api/v1/log", description="Transparency log (RFC 9162, C2SP)")
TEXT = {"200": {"description": "text", "content": {"text/plain": {"schema": {"type": "string"}}}}}


@bp.route("/checkpoint", methods=["GET"])
@public
@bp.doc(responses=TEXT)
def get_checkpoint():
    """The latest signed tree head: a C2SP tlog-checkpoint in a C2SP signed note (Ed25519)."""
    cp = service.latest() or service.checkpoint()
    return Response(cp.note, mimetype="text/plain", headers={"Cache-Control": "no-cache"})


@bp.route("/key", methods=["GET"])
@public
@bp.doc(responses=TEXT)
def get_key():
    """The log's verifier key: name+hex(key id)+base64(0x01 || Ed25519 public key)."""
    return Response(service.verifier_key() + "\n", mimetype="text/plain")


@bp.route("/checkpoints", methods=["GET"])
@public
@bp.arguments(CheckpointsQuery, location="query")
@bp.response(200, CheckpointList)
def list_checkpoints(q):
    """Stored checkpoints with tree size above `after` (1000 at most), oldest first: for auditors."""
    rows = db.session.scalars(select(Checkpoint).where(Checkpoint.tree_size > q["after"])
                              .order_by(Checkpoint.tree_size).limit(1000)).all()
    return {"items": rows}


@bp.route("/proofs/inclusion", methods=["GET"])
@public
@bp.arguments(InclusionQuery, location="query")
@bp.response(200, InclusionOut)
def inclusion_proof(q):
    """RFC 9162 inclusion proof (base64 hashes) for a leaf index or a leaf hash, at a tree size."""
    if "leaf_hash" in q:
        try:
            leaf = base64.b64decode(q["leaf_hash"], validate=True)
        except ValueError:
            raise Unprocessable("leaf_hash must be base64", {"leaf_hash": ["not base64"]}) from None
        index = service.index_of_leaf(leaf)
    else:
        index = q["index"]
    proof = service.inclusion(index, q["tree_size"])
    return {"leafIndex": index, "treeSize": q["tree_size"], "inclusionProof": service.b64(proof)}


@bp.route("/proofs/consistency", methods=["GET"])
@public
@bp.arguments(ConsistencyQuery, location="query")
@bp.response(200, ConsistencyOut)
def consistency_proof(q):
    """RFC 9162 consistency proof between two tree sizes."""
    proof = service.consistency(q["first"], q["second"])
    return {"first": q["first"], "second": q["second"], "consistencyProof": service.b64(proof)}


@bp.route("/entries", methods=["GET"])
@public
@bp.arguments(EntriesQuery, location="query")
@bp.response(200, EntriesOut)
def get_entries(q):
    """Entries [start, end), at most 1000: issuances (the certificate JWS) and revocations (canonical JSON)."""
    return {"entries": service.entries(q["start"], q["end"])}
