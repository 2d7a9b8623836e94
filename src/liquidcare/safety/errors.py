"""Errors of the safety package."""

from liquidcare.errors import UserError


class PolicyError(UserError):
    """A guard policy file is malformed: an unknown key, a bad regex, a missing message."""


class RedTeamError(UserError):
    """A red-team run was asked for something it cannot do (a bad target, suite or option)."""
