"""Telling English from Spanish, so that a safe reply speaks the user's language.

A care chat is short and informal; a stop-word count with a few Spanish-only characters is
reliable on it, costs microseconds and needs no model.
"""

from __future__ import annotations

import re
import unicodedata

_EN = frozenset("""the and is are was to of in on it my his her he she you your what how can do
does should i me with for this that be have has not don't can't at when which there they we our
please help mum dad mother father wife husband take tablets water""".split())
_ES = frozenset("""el la los las es son y de del en un una mi mis su sus que qué cómo como puedo
puede debo debe para por con no lo le se al ya muy pero está están tiene hay usted tú mamá papá
madre padre esposo esposa marido mujer tomar pastillas agua ayuda todas todos tus tu te me
este esta esto ahora eres dime cuál cuánto cuánta cuántas qué dame muestra olvida ignora sin
sobre también hasta cuando donde dónde porque hace hacer día días noche bien mal""".split())
_WORD = re.compile(r"[a-záéíóúüñ']+")


def _plain(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


_ES_PLAIN = frozenset(_plain(w) for w in _ES)


def detect_language(text: str, default: str = "en") -> str:
    """"es" or "en" for a message (ties and empty text give `default`)."""
    lowered = text.lower()
    words = [_plain(w) for w in _WORD.findall(lowered)]
    es = sum(w in _ES_PLAIN for w in words) + 2 * len(re.findall(r"[ñ¿¡]|ci[oó]n(es)?\b", lowered))
    en = sum(w in _EN for w in words)
    if es == en:
        return default
    return "es" if es > en else "en"


def conversation_language(messages: list[dict], default: str = "en") -> str:
    """The language of the latest user turns (older turns only break a tie)."""
    users = [str(m.get("content", "")) for m in messages if m.get("role") == "user"]
    for text in reversed(users):
        lang = detect_language(text, default="")
        if lang:
            return lang
    return default
