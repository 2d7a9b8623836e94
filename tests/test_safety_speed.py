"""The guard's shortcuts for long messages give exactly what the plain computations give.

Each test holds a shortcut against the straightforward code it replaced (written out here as
the reference) on the project's own messages and on random strings built from the characters
the shortcut cares about: invisible and look-alike letters, full-width forms, curly quotes,
leetspeak digits and symbols, runs of spaces.
"""

from __future__ import annotations

import random
import re
import unicodedata

import pytest
from safety_helpers import dev_messages

from liquidcare.text import INVISIBLE, LOOKALIKES, fold

_LOOKALIKE_MAP = str.maketrans(LOOKALIKES, "abekmhopctyxijsdngabeikvoptux")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201c": '"',
                         "\u201d": '"'})
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b",
                       "@": "a", "$": "s", "!": "i", "|": "l", "+": "t", "€": "e"})
_LEET_WORD = re.compile(r"[a-z0-9@$!|+€]*[a-z][a-z0-9@$!|+€]*|[0-9@$!|+€]*[@$!|+€][a-z0-9@$!|+€]*")


def reference_fold(text: str, collapse: bool = True) -> str:
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(INVISIBLE)
    text = text.lower()
    text = text.translate(_LOOKALIKE_MAP).translate(_QUOTES)
    text = re.sub("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+", "",
                  unicodedata.normalize("NFKD", text))
    return re.sub(r"\s+", " ", text).strip() if collapse else text.strip()


def reference_unleet_words(folded: str) -> str:
    return _LEET_WORD.sub(lambda m: m.group(0).translate(_LEET), folded)


def reference_disguise(text: str) -> int:
    drop = str.maketrans(dict.fromkeys(LOOKALIKES + LOOKALIKES.upper()))
    return (sum(1 for c in text if ord(c) in INVISIBLE) + len(text) - len(text.translate(drop))
            + sum(1 for c in text if 0xFF01 <= ord(c) <= 0xFF5E))


def _messages(limit: int = 600) -> list[str]:
    return dev_messages(limit)


def _random_strings(alphabet: str, n: int = 400, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(n)]


_TRICKY = ("aéÉñ Σσς İi \t\n  " + "".join(map(chr, list(INVISIBLE)[:6])) + LOOKALIKES[:8]
           + LOOKALIKES[:8].upper() + "ＡＢｃ！\u2019\u201cx" + "1!3@$|+€0")


@pytest.mark.parametrize("collapse", [True, False])
def test_fold_is_the_plain_fold(collapse):
    texts = _messages() + _random_strings(_TRICKY) + [" ".join(_messages()[:80])]
    for text in texts:
        assert fold(text, collapse) == reference_fold(text, collapse), repr(text)
    # the memo returns the same answer the second time
    assert fold(texts[0], collapse) == reference_fold(texts[0], collapse)


def test_unleet_translates_the_same_runs():
    from liquidcare.safety import normalize

    texts = _random_strings("ab 1!0@$|+€.x9", n=2000) + [fold(t) for t in _messages()]
    before = re.compile(r"[a-z0-9@$!|+€]*[0-9@$!|+€][a-z0-9@$!|+€]*")  # the pattern it replaced
    for text in texts:
        assert normalize._LEET_RUN.sub(normalize._unleet_run, text) == \
            reference_unleet_words(text), repr(text)
        assert [m.span() for m in normalize._LEET_RUN.finditer(text)] == \
            [m.span() for m in before.finditer(text)], repr(text)
    assert normalize.unleet("h3ll0 th3r3 fri3nd") == "hello there friend"  # whole-message leet
    assert normalize.unleet("call 112 n0w!") == "call 112 nowi"  # a number stays a number


def test_unspace_collapses_as_the_plain_code():
    """`unspace` skips the space collapse when there is nothing to collapse: the same text as
    joining the spaced letters and then collapsing every run of whitespace."""
    from liquidcare.safety import normalize

    def reference(folded: str) -> str:
        def join(m: re.Match[str]) -> str:
            return " ".join(re.sub(r"[\s.\-_*]", "", w)
                            for w in re.split(r"\s{2,}|\s*[/|]\s*", m.group(0)))

        return re.sub(r"\s+", " ", normalize._SPACED.sub(join, folded)).strip()

    texts = _random_strings("ab c.-_*/ \t\n\u00a0x", n=2000, seed=3)
    texts += [fold(t, collapse=False) for t in _messages()]
    texts += ["i g n o r e  a l l", "call  me\tnow", " h-e-l-p me "]
    changed = 0
    for text in texts:
        assert normalize.unspace(text) == reference(text), repr(text)
        changed += normalize.unspace(text) != text.strip()
    assert changed > 100  # both branches run


def test_disguise_counts_what_it_counted():
    from liquidcare.safety.normalize import disguise

    for text in _random_strings(_TRICKY, n=1000) + _messages():
        assert disguise(text) == reference_disguise(text), repr(text)
    assert disguise("ignоre") == 1  # one Cyrillic o


def test_a_gated_search_from_a_position_is_re_search_from_there():
    """`Gated.search(text, pos)` (the emergency frames search from a clause onwards) reads
    the text before `pos` as re does: `\\b` and lookbehinds see it."""
    from liquidcare.safety import frames
    from liquidcare.safety.emergency import _ACUITY, _RETURN
    from liquidcare.safety.gate import GATE_FROM, Gated

    text = fold(" ".join(_messages()[:90]))
    assert len(text) > GATE_FROM
    gated = [frames.ABOUT, frames.PAST, frames.NOW, frames.FRAMED, frames.LIVE_AFTER,
             frames.IDIOMS, _ACUITY, _RETURN]
    found = 0
    for pattern in gated:
        for pos in (0, 1, 7, 500, 1501, len(text) // 2, len(text) - 3):
            m, expected = pattern.search(text, pos), pattern.pattern_object.search(text, pos)
            assert (m and m.span()) == (expected and expected.span()), (pattern.pattern, pos)
            found += expected is not None
    assert found > 12  # matches are found, so the comparison is not vacuous
    # mid-word: "\bar" does not match inside "car", from there or anywhere
    word = Gated(re.compile(r"\b(arm|ar)\b"))
    long = "car " * 600
    assert word.search(long, 1) is None and word.search(long + "arm", 1).start() == 2400


def test_a_gated_sub_takes_a_template_or_a_function_as_re_does():
    """`Gated.sub` on a long message (through the gate) gives `re.sub`'s result, with a
    replacement string and with a function of the match (the emergency veto blanks idioms
    with one, keeping the offsets of the text)."""
    from liquidcare.safety import frames
    from liquidcare.safety.gate import GATED_FROM

    text = fold(" ".join(_messages()[:90])) + " my feet are killing me, me muero de ganas"
    assert len(text) > GATED_FROM
    blank = lambda m: " " * len(m.group(0))  # noqa: E731
    plain = frames.IDIOMS.pattern_object
    assert frames.IDIOMS.sub(blank, text) == plain.sub(blank, text) != text
    assert len(frames.IDIOMS.sub(blank, text)) == len(text)
    assert frames.IDIOMS.sub(" ", text) == plain.sub(" ", text)


def test_a_rule_that_does_not_reach_a_clause_cannot_match_it():
    """`Rule.reaches` and `Rule.search_within` (the emergency frame's shortcuts) never hide a
    match: on the clauses of a long message, a rule ruled out matches none of them, and the
    patterns tried find a match exactly when the rule's search does."""
    from liquidcare.safety import load_policy
    from liquidcare.safety.clauses import _reaches
    from liquidcare.safety.emergency import _CLAUSE, _SENTENCE, read

    text = read(" ".join(t for t in _messages(900) if t.strip()))
    rules = load_policy().red_flags
    tried = skipped = 0
    for sm in _SENTENCE.finditer(text):
        cuts = [0, *(x for c in _CLAUSE.finditer(sm.group(0)) for x in c.span()),
                len(sm.group(0))]
        for a, b in zip(cuts[::2], cuts[1::2], strict=True):
            clause = sm.group(0)[a:b]
            for rule in rules:
                tried += 1
                if not rule.reaches(text, sm.start() + a, sm.start() + b):
                    skipped += 1
                    assert rule.search(clause) is None and rule.search(clause, True) is None
                lo, hi = sm.start() + a, sm.start() + b
                # the frame reads each rule's starts once and bisects them per clause
                assert _reaches(rule.starts(text), lo, hi) == rule.reaches(text, lo, hi)
                for symptoms in (False, True):
                    assert (rule.search_within(clause, text, lo, hi, symptoms) is None) == (
                        rule.search(clause, symptoms) is None)
    assert skipped > tried / 2  # the shortcut does skip most rules
    assert any(r.reaches(text, 0, len(text)) for r in rules)


def test_the_frames_are_gated_on_short_messages_too():
    """The emergency frames go through the gate from `GATED_FROM` characters (ordinary
    messages): the same first match and the same idiom cut as `re` on every dev message long
    enough, and on pieces of several."""
    from liquidcare.safety import emergency, frames
    from liquidcare.safety.gate import GATED_FROM, Gated

    gated = [p for module in (frames, emergency) for p in vars(module).values()
             if isinstance(p, Gated)]
    assert len(gated) >= 15
    messages = [emergency.read(t) for t in _messages(2000)]
    texts = [t for t in messages if len(t) >= GATED_FROM]
    texts += [" ".join(messages[i:i + 4]) for i in range(0, 400, 4)]
    found = 0
    for text in texts:
        for p in gated:
            m, expected = p.search(text), p.pattern_object.search(text)
            assert (m and m.span()) == (expected and expected.span()), (p.pattern[:60], text)
            found += expected is not None
        assert frames.IDIOMS.sub(" ", text) == frames.IDIOMS.pattern_object.sub(" ", text)
    assert found > 100


def test_the_word_index_finds_every_word_a_prefix_allows():
    """The gate's index gives, for a prefix or a whole word ("word$"), exactly the
    starts of the words that fit, as a scan of every word of the text does."""
    from liquidcare.safety.gate import _index, _starts

    rng = random.Random(5)
    pool = ["chest", "ches", "chestnut", "ch", "c", "do", "dolor", "dolores", "ñandú", "a",
            "999", "9", "x" * 20]
    text = " ".join(rng.choice(pool) for _ in range(700)) + " " + fold(" ".join(_messages(300)))
    words = [(m.group(0), m.start()) for m in re.finditer(r"\w+", text)]
    assert set(_index(text).at) == {w for w, _ in words}
    for anchor in ({"ches"}, {"chest$"}, {"c", "do$"}, {"dolor", "9"}, {"x" * 16}, {"zzq"},
                   {"ñan", "a$"}):
        expected = sorted(pos for w, pos in words if any(
            w == a[:-1] if a.endswith("$") else w.startswith(a) for a in anchor))
        assert _starts(frozenset(anchor), text) == expected, anchor
        assert expected or anchor == {"zzq"}  # the comparison is not vacuous


def test_a_gated_sub_takes_a_function_as_re_sub_does():
    """`Gated.sub` with a function for the replacement (the emergency veto blanks the idioms
    of a long message to keep its offsets) gives what `re.sub` gives."""
    from liquidcare.safety.emergency import read
    from liquidcare.safety.frames import IDIOMS
    from liquidcare.safety.gate import GATED_FROM

    plain = IDIOMS.pattern_object
    with_idiom = [read(t) for t in _messages(3000) if plain.search(read(t))]
    text = " ".join(with_idiom[:6] + [read(t) for t in _messages(40)])
    assert with_idiom and len(text) >= GATED_FROM

    def blank(m: re.Match[str]) -> str:
        return " " * len(m.group(0))

    cut = IDIOMS.sub(blank, text)
    assert cut == plain.sub(blank, text) and cut != text and len(cut) == len(text)
