"""Signing and key handling. The only package allowed to import `cryptography` (issue: certificates)."""
