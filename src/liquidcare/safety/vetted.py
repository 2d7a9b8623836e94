"""Reviewed text a reply quotes, taken out before the output rules read the reply.

A grounded reply quotes sentences of the vetted knowledge base word for word. The output rules
are written to catch what a *model* might say ("a lower dose", "does not kill"), and on checked
answers they fired on correct advice: half-way through "The GP may advise a lower dose for people
who weigh under 50 kg" they read a dose change. Only exact, whole sentences of the passages the
turn retrieved are taken out; every other character (the model's words, a twin's facts, a
sentence with one word changed) is still read by every rule.
"""

from __future__ import annotations

from collections.abc import Collection

# A vetted sentence this short ("Call 999.") says nothing a rule could misread, and taking out
# short strings could cut pieces out of the model's own sentences.
MIN_CHARS = 20


def without_vetted(reply: str, vetted: Collection[str]) -> str:
    """`reply` with each whole vetted sentence replaced by a line break. Longest first: a
    sentence inside a longer one is not cut out of it first."""
    out = reply
    for sentence in sorted({s.strip() for s in vetted if len(s.strip()) >= MIN_CHARS},
                           key=len, reverse=True):
        out = out.replace(sentence, "\n")
    return out
