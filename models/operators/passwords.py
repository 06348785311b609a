"""Operator passwords: argon2id hashes, the password policy, and the older scrypt hashes still accepted.

Hashing costs ~0.1 s of CPU by design, so it runs in a thread, never on the event loop. A hash made
with other parameters than `HASHER`'s (an older scrypt one, or argon2id with a lower cost) still
verifies and is replaced at the next successful login (`verify` says so).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import re
import secrets

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from models.errors import FieldError

# argon2id with the RFC 9106 low-memory profile (t=3, m=64 MiB, p=4): argon2-cffi's default.
HASHER = argon2.PasswordHasher.from_parameters(argon2.profiles.RFC_9106_LOW_MEMORY)

MIN_LENGTH = 10
MAX_LENGTH = 128  # every login hashes what it is sent: no megabyte passwords
_CLASSES = (re.compile(r"[a-z]"), re.compile(r"[A-Z]"), re.compile(r"[0-9]"), re.compile(r"[^a-zA-Z0-9]"))


def _hash_now(password: str) -> str:
    return HASHER.hash(password)


def _verify_now(password: str, stored: str) -> tuple[bool, bool]:
    if stored.startswith("scrypt$"):  # before argon2id (issue 15): verify, then upgrade
        try:
            _, salt_hex, digest_hex = stored.split("$")
            salt = bytes.fromhex(salt_hex)
        except ValueError:
            return False, False
        digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
        return hmac.compare_digest(digest.hex(), digest_hex), True
    try:
        HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False, False
    return True, HASHER.check_needs_rehash(stored)


async def hash_password(password: str) -> str:
    """An argon2id hash of `password` (computed in a thread)."""
    return await asyncio.get_running_loop().run_in_executor(None, _hash_now, password)


async def verify(password: str, stored: str | None) -> tuple[bool, bool]:
    """(matches, needs_rehash) for `password` against `stored`; with no stored hash (an unknown
    username) a hash is still checked, so the answer takes as long as for a real account."""
    if stored is None:
        await asyncio.get_running_loop().run_in_executor(None, _verify_now, password, _dummy_hash())
        return False, False
    return await asyncio.get_running_loop().run_in_executor(None, _verify_now, password, stored)


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return HASHER.hash(secrets.token_urlsafe(16))


def policy_errors(password: object, username: str = "", field: str = "password") -> list[FieldError]:
    """What is wrong with `password` as a new operator password (empty when it is acceptable)."""
    if not isinstance(password, str) or not password:
        return [FieldError(field, "required", "请设置密码", "A password is required")]
    if len(password) < MIN_LENGTH:
        return [FieldError(field, "password_too_short", f"密码至少需要 {MIN_LENGTH} 个字符",
                           f"The password needs at least {MIN_LENGTH} characters")]
    if len(password) > MAX_LENGTH:
        return [FieldError(field, "password_too_long", f"密码不能超过 {MAX_LENGTH} 个字符",
                           f"The password may have at most {MAX_LENGTH} characters")]
    errors = []
    if sum(1 for pattern in _CLASSES if pattern.search(password)) < 3:
        errors.append(FieldError(field, "password_too_weak", "密码需包含小写字母、大写字母、数字、符号中的至少三类",
                                 "The password needs at least three of: lower-case letters, upper-case letters, "
                                 "digits, symbols"))
    if username and username.lower() in password.lower():
        errors.append(FieldError(field, "password_contains_username", "密码不能包含用户名",
                                 "The password must not contain the username"))
    return errors
