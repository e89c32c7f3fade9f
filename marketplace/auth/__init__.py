"""OAuth 2.0 client credentials (authlib), scopes, the calling principal, and token revocation."""
