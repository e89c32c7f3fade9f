"""Signing keys: the platform's (rotated by command) and insurers' (registered public or custodial)."""
