"""API keys: `lc_<key id>_<secret>`, shown once, stored as a salted hash.

The key id is public and indexes the row; only the secret is hashed. The secret is 32 random
bytes, so nobody can guess it however fast the hash is; PBKDF2 with a per-key salt still makes a
stolen table useless for checking guesses offline and stays cheap enough (a few milliseconds) to
run on every HTTP request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX = "lc"
ITERATIONS = 20_000


def new_key() -> tuple[str, str, str]:
    """A fresh key: (full key to hand out, key id, secret)."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return f"{PREFIX}_{key_id}_{secret}", key_id, secret


def split_key(key: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    parts = key.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def hash_secret(secret: str, salt: str | None = None) -> tuple[str, str]:
    """(salt, hex digest) of a secret."""
    salt = salt if salt is not None else secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt.encode(), ITERATIONS)
    return salt, digest.hex()


def check_secret(secret: str, salt: str, digest: str) -> bool:
    return hmac.compare_digest(hash_secret(secret, salt)[1], digest)
