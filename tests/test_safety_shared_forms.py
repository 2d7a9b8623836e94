"""Session 9's shortcuts for long messages give exactly what the plain computations give: the
language identifier's byte walk done in numpy, and the word index of a message's derived forms
(respelled, decoded, idioms cut) derived from the index of the form it was made from."""

from __future__ import annotations

import json
import random

from liquidcare.safety.harness import DATA


def _messages(limit: int = 800) -> list[str]:
    texts = []
    for name in ("attacks.jsonl", "benign.jsonl", "emergency_dev.jsonl", "output_dev.jsonl"):
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            texts += row.get("turns") or [row["reply"]]
    return texts[:limit]


def test_the_vectorised_walk_counts_what_the_library_counts():
    """Every feature, count and order of `py3langid`'s own walk, on the project's messages,
    on random strings of accents, symbols and invisible characters, and on raw bytes that
    are not UTF-8 at all (the identifier reads bytes)."""
    from py3langid.langid import visit_counts

    from liquidcare.text import _identifier, _walk_counts

    ident = _identifier()
    rng = random.Random(0)
    texts: list[str | bytes] = _messages()
    texts.append(" ".join(texts[:300])[:2001])
    texts += ["".join(rng.choice("ab cñé€\u200b¿?1!Σ") for _ in range(rng.randint(0, 50)))
              for _ in range(300)]
    texts += [bytes(rng.randrange(256) for _ in range(rng.randint(0, 60))) for _ in range(200)]
    compared = 0
    for text in texts:
        data = ident._encode(text)  # noqa: SLF001 (what the identifier walks over)
        expected = visit_counts(ident.tk_nextmove, ident._rowbase,  # noqa: SLF001
                                ident.tk_output, data)
        got = _walk_counts(ident, data)
        assert (got is None) == (expected is None), repr(text)
        if expected is not None:
            assert list(got.items()) == list(expected.items()), repr(text)
            compared += 1
    assert compared > 1000


def test_the_vectorised_identifier_gives_the_library_scores():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    from liquidcare.text import LANGUAGES, _identifier

    library = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    library.set_languages(list(LANGUAGES))
    ours = _identifier()
    assert type(ours) is not LanguageIdentifier  # the numpy walk is the one in use
    for text in _messages(400) + ["", "   ", "12 34", "¿?"]:
        assert ours.classify(text) == library.classify(text), repr(text)
