"""Public-key checks the Ed25519 library does not make: canonical encoding and small order.

A small-order key (the identity, the point of order 2, ...) verifies a forged signature (R = identity,
S = 0) on any message, so such keys are refused. Pure integer arithmetic on edwards25519 (RFC 8032).
"""

from __future__ import annotations

P = 2**255 - 19
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def decode(raw: bytes) -> tuple[int, int] | None:
    """RFC 8032 5.1.3: the affine point (x, y) of a 32-byte encoding; None if non-canonical or off the curve."""
    n = int.from_bytes(raw, "little")
    y, sign = n & ((1 << 255) - 1), n >> 255
    if y >= P:
        return None
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if v * x * x % P == (-u) % P:
        x = x * SQRT_M1 % P
    elif v * x * x % P != u:
        return None
    if x == 0 and sign:
        return None
    return (P - x if x & 1 != sign else x), y


def _add(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """Extended-coordinate addition (RFC 8032 5.1.4); complete, so it also doubles."""
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa, bb = (y1 - x1) * (y2 - x2) % P, (y1 + x1) * (y2 + x2) % P
    c, dd = 2 * t1 * t2 * D % P, 2 * z1 * z2 % P
    e, f, g, h = bb - aa, dd - c, dd + c, bb + aa
    return e * f % P, g * h % P, f * g % P, e * h % P


def problem(raw: bytes) -> str | None:
    """Why the 32-byte public key `raw` is unsafe to verify with, or None when it is fine."""
    point = decode(raw)
    if point is None:
        return "x is not a canonical encoding of a point on Ed25519"
    x, y = point
    q = (x, y, 1, x * y % P)
    for _ in range(3):  # [8]P is the identity exactly when P's order divides 8
        q = _add(q, q)
    if q[0] == 0 and q[1] == q[2]:
        return "x is a small-order point (it would verify forged signatures)"
    return None
