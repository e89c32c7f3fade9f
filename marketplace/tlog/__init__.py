"""Transparency log (DESIGN 6): append-only RFC 9162 Merkle log of issuances and revocations,
C2SP signed-note checkpoints, proofs, receipts and an auditor."""
