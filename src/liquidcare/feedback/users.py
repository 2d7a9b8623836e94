"""Users and their API keys (see keys.py for the key format and its hash)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from . import keys as _keys
from .base import StoreBase, user_snapshot
from .errors import NotFoundError, ValidationError
from .models import ROLES, ApiKeyRow, UserRow
from .records import User


class UsersPart(StoreBase):
    def add_user(self, name: str, role: str = "person") -> tuple[User, str]:
        """Creates a user and their first API key; the key is returned here and never again."""
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise ValidationError("a user's name must be a non-empty string (<= 200 characters)")
        if role not in ROLES:
            raise ValidationError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
        with self._tx(write=True) as s:
            row = UserRow(name=name.strip(), role=role)
            s.add(row)
            s.flush()
            key = self._new_key(s, row.id)
            return user_snapshot(row), key

    def _new_key(self, s: Session, user_id: int) -> str:
        key, key_id, secret = _keys.new_key()
        salt, digest = _keys.hash_secret(secret)
        s.add(ApiKeyRow(key_id=key_id, user_id=user_id, salt=salt, digest=digest))
        return key

    def new_api_key(self, user_id: int) -> str:
        """Another key for an existing user (e.g. a lost one: revoke the old one as well)."""
        with self._tx(write=True) as s:
            if s.get(UserRow, user_id) is None:
                raise NotFoundError(f"no user {user_id}")
            return self._new_key(s, user_id)

    def revoke_keys(self, user_id: int) -> int:
        with self._tx(write=True) as s:
            result = s.execute(
                update(ApiKeyRow).where(ApiKeyRow.user_id == user_id).values(revoked=True)
            )
            return result.rowcount

    def authenticate(self, api_key: str | None) -> User | None:
        """The user a key belongs to, or None for a missing, malformed, unknown or revoked key."""
        if not api_key:
            return None
        parts = _keys.split_key(api_key)
        if parts is None:
            return None
        key_id, secret = parts
        with self._tx() as s:
            row = s.scalar(select(ApiKeyRow).where(ApiKeyRow.key_id == key_id))
            if row is None or row.revoked or not _keys.check_secret(secret, row.salt, row.digest):
                return None
            user = s.get(UserRow, row.user_id)
            return user_snapshot(user) if user else None

    def get_user(self, user_id: int) -> User:
        with self._tx() as s:
            row = s.get(UserRow, user_id)
            if row is None:
                raise NotFoundError(f"no user {user_id}")
            return user_snapshot(row)

    def list_users(self) -> list[User]:
        with self._tx() as s:
            return [user_snapshot(r) for r in s.scalars(select(UserRow).order_by(UserRow.id))]
