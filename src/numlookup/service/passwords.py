"""Password hashing for account credentials: argon2id via argon2-cffi."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    """An encoded argon2id hash with its own random salt and parameters."""
    return _HASHER.hash(password)


def verify_password(encoded: str, password: str) -> bool:
    """True when `password` matches; False on a mismatch or an unreadable hash.

    Slow on purpose (tens of ms): callers run it off the event loop and remember
    the credentials it accepted.
    """
    try:
        return _HASHER.verify(encoded, password)
    except (VerificationError, InvalidHashError):
        return False
