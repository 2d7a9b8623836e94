"""API keys: `lc_<key id>_<secret>`, shown once, stored as a salted hash.

The key id is public and indexes the row; only the secret is hashed. The secret is 32 random
bytes, so nobody can guess it however fast the hash is; PBKDF2 with a per-key salt still makes a
stolen table useless for precomputed tables. The iteration count is kept low (about a
millisecond; 20,000 iterations cost 11 ms, a third of a chat turn's store time, see
benchmarks/store_ops.py) because the check runs on every HTTP request, and it is stored with each
digest (`pbkdf2-sha256$ITERATIONS$HEX`) so that it can be raised later without breaking old keys.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX = "lc"
ITERATIONS = 2_000
SCHEME = "pbkdf2-sha256"


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


def _digest(secret: str, salt: str, iterations: int) -> str:
    raw = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt.encode(), iterations)
    return f"{SCHEME}${iterations}${raw.hex()}"


def hash_secret(secret: str, salt: str | None = None) -> tuple[str, str]:
    """(salt, digest) of a secret; the digest names its scheme and iteration count."""
    salt = salt if salt is not None else secrets.token_hex(16)
    return salt, _digest(secret, salt, ITERATIONS)


def check_secret(secret: str, salt: str, digest: str) -> bool:
    scheme, _, rest = digest.partition("$")
    iterations, _, _ = rest.partition("$")
    if scheme != SCHEME or not iterations.isdigit():
        return False
    return hmac.compare_digest(_digest(secret, salt, int(iterations)), digest)
