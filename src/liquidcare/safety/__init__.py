"""Guardrails and red-teaming for the care chatbot.

`Guard` checks a conversation before the model answers (jailbreaks, prompt injection, requests
for other people's data) and the reply after (dose changes, stopping medication, lethal doses,
jailbreak personas, system-prompt leaks), and makes sure red-flag symptoms always get the
emergency number. The policy is a YAML file (`default_policy.yaml` is shipped). The red-team
harness (`liquidcare redteam`) measures attack success and false refusals against any
OpenAI-compatible endpoint or an in-process model.
"""

from .errors import PolicyError, RedTeamError
from .guard import Guard, GuardInputError, Verdict
from .language import detect_language
from .policy import DEFAULT_POLICY, Policy, load_policy, parse_policy

__all__ = [
    "DEFAULT_POLICY",
    "Guard",
    "GuardInputError",
    "Policy",
    "PolicyError",
    "RedTeamError",
    "Verdict",
    "detect_language",
    "load_policy",
    "parse_policy",
]
