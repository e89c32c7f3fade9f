"""Signing and key handling: the only package allowed to import `cryptography`.

Ed25519 keys as OKP JWKs (RFC 8037), RFC 7638 thumbprints, AES-256-GCM wrapping of private keys
under the key-encryption key, and strict compact JWS (EdDSA only).
"""
