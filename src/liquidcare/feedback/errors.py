"""The store's errors. Each is a `UserError` (one line on the command line) and carries the HTTP
status the server answers with, so that the server maps them without a table of its own."""

from liquidcare.errors import UserError


class StoreError(UserError):
    """Something about the store itself: a bad URL, a missing file, an unsupported operation."""

    status = 400


class NotFoundError(StoreError):
    """No such user, twin, conversation or message (or not one the caller may know about)."""

    status = 404


class PermissionDeniedError(StoreError):
    """The caller is known but not allowed to read or change this record."""

    status = 403


class StaleWriteError(StoreError):
    """The record changed since the caller read it (optimistic concurrency: re-read and retry)."""

    status = 409


class ValidationError(StoreError):
    """A field is missing, unknown or of the wrong type or value; the message names the field."""

    status = 422
