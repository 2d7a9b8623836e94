"""What the server needs from a guard (issue 7's `liquidcare.safety.Guard` has this shape).

The server only calls the two checks and reads four fields of the verdict, so any object with
this shape will do: the tests use a small rule-based fake, production uses `liquidcare.safety`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class VerdictLike(Protocol):
    allowed: bool
    category: str | None
    reason: str
    safe_reply: str | None  # blocked: the reply to send; allowed: a rewrite (escalation) or None


@runtime_checkable
class GuardLike(Protocol):
    def check_input(self, messages: list[dict[str, str]]) -> VerdictLike: ...

    def check_output(self, messages: list[dict[str, str]], reply: str,
                     vetted: Collection[str] = (), shown: Collection[str] = ()) -> VerdictLike: ...


# The reply when a guard blocks without proposing one of its own.
FALLBACK_REPLY = {
    "en": "I can't help with that. If someone is in danger, call 999 now and tell a person "
    "nearby.",
    "es": "No puedo ayudar con eso. Si alguien está en peligro, llama al 112 ahora y avisa a "
    "alguien cerca.",
}


def verdict_dict(verdict: VerdictLike) -> dict[str, Any]:
    """The verdict as stored: plain JSON values only (the guard's own `to_dict` when it has
    one, which adds language, red flags and the detector's score)."""
    if hasattr(verdict, "to_dict"):
        return dict(verdict.to_dict())
    return {
        "allowed": bool(verdict.allowed),
        "category": verdict.category,
        "reason": str(verdict.reason),
        "safe_reply": verdict.safe_reply,
    }


def load_guard(policy: str | None = None) -> GuardLike:
    """The project's guard (`liquidcare.safety.Guard`), with a clear error if it is missing."""
    try:
        from liquidcare.safety import Guard
    except ImportError as err:
        from liquidcare.errors import UserError

        raise UserError(
            f"--guard on needs liquidcare.safety, which cannot be imported here ({err}); "
            "run with --guard off or install the safety extra"
        ) from None
    return Guard(policy=policy)
