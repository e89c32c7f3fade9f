from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, created_column, id_column, utcnow
from ..extensions import db
from ..registry.models import Organization
from .passwords import verify


class OAuthClient(db.Model):
    """An API client of one organization. The secret is stored as an argon2 hash only."""

    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    scope: Mapped[str] = mapped_column(Text, nullable=False)  # space-separated
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = created_column()
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    org: Mapped[Organization] = relationship()

    # authlib ClientMixin
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope: str) -> str:
        allowed = self.scope.split()
        if not scope:
            return " ".join(allowed)
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return self.revoked_at is None and verify(self.secret_hash, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials" and self.revoked_at is None


class TokenTimes:
    """authlib's TokenMixin answers shared by the stored token and the bearer check's row (service.Bearer):
    both carry `scope`, `issued_at` (unix seconds) and `expires_in`."""

    scope: str
    issued_at: int
    expires_in: int

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return time.time() >= self.issued_at + self.expires_in


class OAuthToken(TokenTimes, db.Model):
    """An opaque access token, stored as its SHA-256 only."""

    __tablename__ = "oauth_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.client_id"), nullable=False, index=True)
    scope: Mapped[str] = mapped_column(Text, nullable=False)
    issued_at: Mapped[int] = mapped_column(Integer, nullable=False)  # unix seconds
    expires_in: Mapped[int] = mapped_column(Integer, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    client: Mapped[OAuthClient] = relationship()

    # authlib TokenMixin (with TokenTimes)
    def check_client(self, client) -> bool:
        return client.get_client_id() == self.client_id

    def is_revoked(self) -> bool:
        return self.revoked_at is not None or self.client.revoked_at is not None

    def revoke(self) -> None:
        self.revoked_at = utcnow()


USER_ROLES = ("admin", "member")
LINK_PURPOSES = ("invite", "reset")


class User(db.Model):
    """A portal user: a person in one organization. Admins also manage the organization's users and
    API clients. The password is stored as an argon2 hash only; `password_hash` is empty until an
    invitation is accepted."""

    __tablename__ = "users"

    id: Mapped[str] = id_column()
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), nullable=False, index=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False, unique=True)  # stored lower-case
    name: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    role: Mapped[str] = mapped_column(String(16), default="member", nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    created_at: Mapped[datetime] = created_column()
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # bumped on every password change: sessions carry it, so a reset signs out every other session
    session_version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)

    org: Mapped[Organization] = relationship()


class UserLink(db.Model):
    """A one-time link (invitation or password reset), stored as the SHA-256 of its token only."""

    __tablename__ = "user_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    purpose: Mapped[str] = mapped_column(String(16), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = created_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
