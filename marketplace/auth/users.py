"""Portal users: invitations, sign-in, one-time password links, roles.

A user belongs to one organization and acts with exactly the scopes its API clients may hold
(`scopes.BY_KIND`); admins also manage the organization's users and clients. Nobody receives mail
here: an invitation or a password reset is a one-time link that the person creating it hands over
(the portal shows it once, `marketplace users reset-link` prints it). Only the link's SHA-256 is kept.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from sqlalchemy import func, select, update

from ..db import utcnow
from ..errors import Conflict, Forbidden, NotFound, Unprocessable
from ..extensions import db
from ..registry.models import Organization
from .models import LINK_PURPOSES, USER_ROLES, User, UserLink
from .passwords import dummy_verify, hash_secret, verify

LINK_TTL = {"invite": timedelta(days=7), "reset": timedelta(hours=24)}
MIN_PASSWORD = 12
MAX_PASSWORD = 256
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def check_email(email: str) -> str:
    email = normalise_email(email)
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise Unprocessable("enter an email address such as name@example.com",
                            {"email": ["enter an email address such as name@example.com"]})
    return email


def password_problems(password: str, email: str = "") -> list[str]:
    problems = []
    if len(password or "") < MIN_PASSWORD:
        problems.append(f"use at least {MIN_PASSWORD} characters")
    if len(password or "") > MAX_PASSWORD:
        problems.append(f"use at most {MAX_PASSWORD} characters")
    if email and (password or "").strip().lower() == email:
        problems.append("do not use your email address as your password")
    return problems


def _link_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def get(user_id: str) -> User | None:
    return db.session.get(User, user_id) if user_id else None


def may_manage(actor_org: Organization, actor_role: str, org: Organization) -> bool:
    """An organization's admins manage its users; a regulator's admins manage those of the organizations it
    sees in its registry (the caller passes only organizations it can see). Members manage no one: not their
    own organization's users, and not another's (that would hand them its accounts)."""
    if actor_role != "admin":
        return False
    return actor_org.id == org.id or actor_org.kind == "regulator"


def sign_out(user: User) -> None:
    """End every session of this user: the session cookie is signed, not stored, so a copy taken before
    signing out would still work until the version it carries changes."""
    user.session_version += 1
    db.session.flush()


def create(org: Organization, email: str, name: str, role: str, by: str, password: str | None = None) -> User:
    """A new user. With a password it can sign in at once (the demo, the CLI); without, it waits for its
    invitation to be accepted (`issue_link(user, "invite", by)`)."""
    email = check_email(email)
    errors: dict[str, list[str]] = {}
    if role not in USER_ROLES:
        errors["role"] = [f"choose one of: {', '.join(USER_ROLES)}"]
    if org.kind == "custodian":
        errors["organization"] = ["custodians have no portal users"]
    if password is not None and (p := password_problems(password, email)):
        errors["password"] = p
    if errors:
        raise Unprocessable("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()), errors)
    if by_email(email) is not None:
        raise Conflict(f"a user with the email {email} already exists", {"email": ["this email is already in use"]})
    user = User(org_id=org.id, email=email, name=(name or "").strip()[:200], role=role, created_by=by,
                password_hash=hash_secret(password) if password else "")
    db.session.add(user)
    db.session.flush()
    return user


def issue_link(user: User, purpose: str, by: str) -> str:
    """A one-time link token for `user` (earlier unused links of the same purpose stop working)."""
    if purpose not in LINK_PURPOSES:
        raise ValueError(purpose)
    if user.disabled_at is not None:
        raise Conflict(f"{user.email} is disabled")
    now = utcnow()
    db.session.execute(update(UserLink).where(UserLink.user_id == user.id, UserLink.purpose == purpose,
                                              UserLink.used_at.is_(None)).values(used_at=now))
    token = secrets.token_urlsafe(32)
    db.session.add(UserLink(token_hash=_link_hash(token), user_id=user.id, purpose=purpose, created_by=by,
                            expires_at=now + LINK_TTL[purpose]))
    db.session.flush()
    return token


def open_link(token: str) -> UserLink:
    """The link a token names, if it can still be used; NotFound otherwise (one message for every reason,
    so a guessed token learns nothing)."""
    link = db.session.get(UserLink, _link_hash(token or "")) if token and len(token) < 200 else None
    if link is None or link.used_at is not None or link.expires_at <= utcnow() or link.user.disabled_at:
        raise NotFound("this link is not valid: it was used already, has expired or was replaced by a newer one")
    return link


def redeem(token: str, password: str) -> User:
    """Set the password a one-time link allows; the link is spent and other sessions are signed out."""
    link = open_link(token)
    user = link.user
    if problems := password_problems(password, user.email):
        raise Unprocessable("; ".join(problems), {"password": problems})
    user.password_hash = hash_secret(password)
    user.session_version += 1
    link.used_at = utcnow()
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user these credentials name, or None. Unknown, disabled and not-yet-invited users cost the same
    argon2 work as a wrong password, so timing tells nothing."""
    user = by_email(email) if email and len(email) <= 254 else None
    if user is None or not user.password_hash or user.disabled_at is not None:
        dummy_verify(password or "")
        return None
    if not verify(user.password_hash, password or ""):
        return None
    user.last_login_at = utcnow()
    db.session.flush()
    return user


def change_password(user: User, current: str, new: str) -> None:
    errors: dict[str, list[str]] = {}
    if not verify(user.password_hash, current or ""):
        errors["current_password"] = ["this is not your current password"]
    if problems := password_problems(new, user.email):
        errors["new_password"] = problems
    if errors:
        raise Unprocessable("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()), errors)
    user.password_hash = hash_secret(new)
    user.session_version += 1
    db.session.flush()


def set_role(user: User, role: str, acting: User | None) -> None:
    if role not in USER_ROLES:
        choose = f"choose one of: {', '.join(USER_ROLES)}"
        raise Unprocessable(choose, {"role": [choose]})
    if acting is not None and acting.id == user.id and role != "admin":
        raise Forbidden("you cannot remove your own admin role; ask another admin")
    user.role = role
    db.session.flush()


def disable(user: User, acting: User | None) -> None:
    if acting is not None and acting.id == user.id:
        raise Forbidden("you cannot disable yourself")
    user.disabled_at = user.disabled_at or utcnow()
    user.session_version += 1
    db.session.flush()


def members(org_id: str) -> list[User]:
    return list(db.session.scalars(select(User).where(User.org_id == org_id).order_by(func.lower(User.email))))
