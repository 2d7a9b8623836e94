"""English or Spanish? A tiny guess for choosing a voice, from function words and letters.

Only two languages matter here and the text is a chatbot reply (tens of words), where counting
the commonest words of each language is right nearly always; an explicit language always wins.
"""

from __future__ import annotations

import re

_ES = set("""el la los las de del que y en un una unos unas se por para con no su sus al es lo
como más pero le ya este esta estos estas porque muy hay también tu te mi me sí usted ella
él ahora cuando dónde donde qué cómo cada hoy mañana tarde noche pastilla medicina""".split())
_EN = set("""the a an of to and is are was you your that it in for on with this be have has
not at by from or as will can do does what when where how please take today now she he they
we my his her tablet medicine""".split())
_WORD = re.compile(r"[a-záéíóúüñ]+")


def guess_language(text: str, default: str = "en") -> str:
    lowered = text.lower()
    words = _WORD.findall(lowered)
    es = sum(w in _ES for w in words) + 2 * len(re.findall(r"[ñ¿¡]|ción\b", lowered))
    es += sum(ch in "áéíóú" for ch in lowered) * 0.5
    en = sum(w in _EN for w in words)
    if es == en:
        return default
    return "es" if es > en else "en"
