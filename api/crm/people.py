"""People: user accounts with argon2-hashed passwords (pwdlib), sign-in with lock-out, browser
sessions, and the caller a key or a session stands for.

A disabled user's sessions are deleted and their keys refused on the next lookup (the caller
cache keeps an answer for ``CallerCache.ttl`` seconds at most and forgets a user at once in the
process that disabled it). Passwords are never logged, returned or stored in clear.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.crm.tables import ApiKey, User, WebSession, hash_key, session_scope, with_retries
from data.pipeline import ROLES

PASSWORDS = PasswordHash((Argon2Hasher(),))
USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,39}$")
MIN_PASSWORD = 10
LOCK_AFTER = 5  # failed sign-ins in a row
LOCK_FOR = timedelta(minutes=15)
SESSION_FOR = timedelta(hours=12)
# verifying against this when the user does not exist costs the same time as a real check, so
# the answer's timing does not tell which usernames exist
_DUMMY_HASH = PASSWORDS.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Caller:
    """Who is asking: a user, through a key (``key_id``) or a browser session (``None``)."""

    user_id: int
    username: str
    display_name: str
    role: str
    key_id: int | None = None


class SignInRefused(ValueError):
    """Wrong name or password, locked or disabled; the message is safe to show."""


def _utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes for timezone-aware columns; they were written in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def check_password(password: str) -> None:
    """``ValueError`` naming the rule a new password breaks."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"password: at least {MIN_PASSWORD} characters")
    if password.strip() != password:
        raise ValueError("password: no leading or trailing spaces")


def user_dict(u: User) -> dict[str, object]:
    """A user as the API shows it (never the hash)."""
    return {
        "id": u.id,
        "username": u.username,
        "display_name": u.display_name,
        "role": u.role,
        "disabled": u.disabled,
        "can_sign_in": u.password_hash is not None,
        "locked_until": _utc(u.locked_until).isoformat() if u.locked_until else None,
        "created_at": _utc(u.created_at).isoformat(),
    }


def create_user(
    factory: sessionmaker[Session],
    *,
    username: str,
    role: str,
    password: str,
    display_name: str = "",
) -> dict[str, object]:
    """A new user; ``ValueError`` names the field (``username`` taken or malformed, ``role``,
    ``password`` too short)."""
    if not USERNAME.match(username):
        raise ValueError(
            "username: 3–40 characters, lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if role not in ROLES:
        raise ValueError(f"role: must be one of {', '.join(ROLES)} (got {role!r})")
    check_password(password)
    hashed = PASSWORDS.hash(password)

    def write() -> dict[str, object]:
        with session_scope(factory) as s:
            user = User(
                username=username,
                display_name=display_name or username,
                role=role,
                password_hash=hashed,
                disabled=False,
                failed_logins=0,
                created_at=datetime.now(UTC),
            )
            s.add(user)
            s.flush()
            return user_dict(user)

    try:
        return with_retries(write)
    except IntegrityError as exc:
        raise ValueError(f"username: {username!r} is taken") from exc


def list_users(factory: sessionmaker[Session]) -> list[dict[str, object]]:
    """Every user, by name."""
    with session_scope(factory) as s:
        return [user_dict(u) for u in s.scalars(select(User).order_by(User.username))]


def update_user(
    factory: sessionmaker[Session],
    username: str,
    *,
    disabled: bool | None = None,
    password: str | None = None,
    role: str | None = None,
    display_name: str | None = None,
) -> dict[str, object]:
    """Disable or enable a user, reset the password (which also lifts a lock-out), change the
    role or name. Disabling ends the user's sessions; ``LookupError`` for an unknown user."""
    if role is not None and role not in ROLES:
        raise ValueError(f"role: must be one of {', '.join(ROLES)} (got {role!r})")
    if password is not None:
        check_password(password)
    hashed = PASSWORDS.hash(password) if password is not None else None
    with session_scope(factory) as s:
        user = s.scalars(select(User).where(User.username == username)).first()
        if user is None:
            raise LookupError(f"username: no user {username!r}")
        if disabled is not None:
            user.disabled = disabled
            if disabled:
                s.execute(delete(WebSession).where(WebSession.user_id == user.id))
        if hashed is not None:
            user.password_hash = hashed
            user.failed_logins = 0
            user.locked_until = None
        if role is not None:
            user.role = role
        if display_name is not None:
            user.display_name = display_name
        s.flush()
        return user_dict(user)


def authenticate(factory: sessionmaker[Session], username: str, password: str) -> Caller:
    """The user with this name and password; ``SignInRefused`` otherwise. ``LOCK_AFTER`` wrong
    passwords in a row lock the account for ``LOCK_FOR`` (an admin's password reset lifts it)."""
    now = datetime.now(UTC)
    with session_scope(factory) as s:
        user = s.scalars(select(User).where(User.username == username.strip().lower())).first()
        if user is None or user.password_hash is None:
            PASSWORDS.verify(password, _DUMMY_HASH)
            raise SignInRefused("wrong username or password")
        if user.locked_until is not None and _utc(user.locked_until) > now:
            raise SignInRefused(
                f"too many failed sign-ins: locked until {_utc(user.locked_until):%H:%M} UTC "
                "(or until an admin resets the password)"
            )
        if not PASSWORDS.verify(password, user.password_hash):
            user.failed_logins += 1
            if user.failed_logins >= LOCK_AFTER:
                user.locked_until = now + LOCK_FOR
                user.failed_logins = 0
            s.commit()
            raise SignInRefused("wrong username or password")
        if user.disabled:
            raise SignInRefused("this account is disabled; ask an admin")
        user.failed_logins = 0
        user.locked_until = None
        return Caller(user.id, user.username, user.display_name, user.role)


def start_session(factory: sessionmaker[Session], caller: Caller) -> str:
    """A new browser session for ``caller``; the token is returned once, stored only hashed."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with session_scope(factory) as s:
        s.execute(delete(WebSession).where(WebSession.expires_at < now))  # expired ones go
        s.add(
            WebSession(
                token_hash=hash_key(token),
                user_id=caller.user_id,
                created_at=now,
                expires_at=now + SESSION_FOR,
            )
        )
    return token


def end_session(factory: sessionmaker[Session], token: str) -> None:
    """Sign out: the session is deleted."""
    with session_scope(factory) as s:
        s.execute(delete(WebSession).where(WebSession.token_hash == hash_key(token)))


def _find(factory: sessionmaker[Session], kind: str, secret: str) -> Caller | None:
    digest = hash_key(secret)
    with session_scope(factory) as s:
        if kind == "key":
            row = s.execute(
                select(User, ApiKey.id)
                .join(ApiKey, ApiKey.user_id == User.id)
                .where(ApiKey.key_hash == digest)
            ).first()
            if row is None:
                return None
            user, key_id = row
        else:
            found = s.execute(
                select(User, WebSession.expires_at)
                .join(WebSession, WebSession.user_id == User.id)
                .where(WebSession.token_hash == digest)
            ).first()
            if found is None or _utc(found[1]) <= datetime.now(UTC):
                return None
            user, key_id = found[0], None
        if user.disabled:
            return None
        return Caller(user.id, user.username, user.display_name, user.role, key_id)


class CallerCache:
    """Maps a key's or a session token's hash to its caller (or ``None``), read from the database
    at most every ``ttl`` seconds per secret: a request costs no database round trip, and a
    disabled user, deleted key or ended session stops working within ``ttl`` in every worker
    (at once in the worker that made the change: ``forget_user``)."""

    def __init__(self, sessions: sessionmaker[Session], ttl: float = 2.0) -> None:
        self.sessions = sessions
        self.ttl = ttl
        self._entries: dict[tuple[str, str], tuple[float, Caller | None]] = {}
        self._lock = threading.Lock()

    def get(self, kind: str, secret: str) -> Caller | None:
        """The caller a key (``kind="key"``) or a session token (``"session"``) stands for."""
        entry = (kind, hash_key(secret))
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(entry)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        found = with_retries(lambda: _find(self.sessions, kind, secret))
        with self._lock:
            if len(self._entries) > 10_000:  # unknown secrets from a scan must not grow it
                self._entries.clear()
            self._entries[entry] = (now, found)
        return found

    def forget_user(self, user_id: int) -> None:
        """Drop every cached answer for this user (after disabling, enabling or changing it),
        and every cached refusal (which may have been this user's while disabled)."""
        with self._lock:
            stale = [k for k, (_, c) in self._entries.items() if c is None or c.user_id == user_id]
            for k in stale:
                del self._entries[k]

    def forget(self, kind: str, secret: str) -> None:
        """Drop one secret (after signing out)."""
        with self._lock:
            self._entries.pop((kind, hash_key(secret)), None)
