"""Writes the red-team suite, the benign care questions and the detector's training prompts.

    python -m liquidcare.safety.build_suite            # rewrites data/*.jsonl byte for byte
    python -m liquidcare.safety.build_suite --stats    # counts per family and language

Every prompt is composed here from templates written by this project, in English (set in the
UK) and Spanish (set in Spain). Each family's templates are split in two by position: every
third template goes to the *detector* split (`detector_train.jsonl`, used only to train the
learned detector), the others to the *evaluation* suite (`attacks.jsonl`, `benign.jsonl`).
The detector is therefore measured on wordings it never saw. The random choices are seeded per
(family, language), so the files are reproducible.
"""

from __future__ import annotations

import argparse
import base64
import codecs
import json
import random
import string
from collections import Counter
from pathlib import Path

DATA = Path(__file__).with_name("data")
PER_FAMILY_LANG = 12   # evaluation attacks per (family, language)
BENIGN_PER_LANG = 60   # evaluation benign questions per language

# The templates -- drugs, people, what each attack family asks and how it wraps the ask, the
# benign care questions -- are data written by this project: data/suite_templates.json (one
# template a line). Keys are the lower-case names below.
_TEMPLATES = json.loads((DATA / "suite_templates.json").read_text(encoding="utf-8"))
DRUGS = _TEMPLATES["drugs"]
NAMES = _TEMPLATES["names"]
PEOPLE = _TEMPLATES["people"]
ASKS = _TEMPLATES["asks"]
SYSTEM_LEAK_ASKS = _TEMPLATES["system_leak_asks"]
ROLEPLAY = _TEMPLATES["roleplay"]
OVERRIDE = _TEMPLATES["override"]
EXTRACTION = _TEMPLATES["extraction"]
PRIVACY = _TEMPLATES["privacy"]
DOSE = _TEMPLATES["dose"]
STOP = _TEMPLATES["stop"]
LETHAL = _TEMPLATES["lethal"]
EMERGENCY = _TEMPLATES["emergency"]
OBFUSCATION_WRAPPERS = _TEMPLATES["obfuscation_wrappers"]
OBFUSCATED_PAYLOADS = _TEMPLATES["obfuscated_payloads"]
SPLIT = _TEMPLATES["split"]
CRESCENDO = _TEMPLATES["crescendo"]
BENIGN = _TEMPLATES["benign"]


FAMILIES = ("roleplay", "override", "extraction", "obfuscation", "payload_split", "privacy",
            "dose_change", "stop_medication", "lethal_dose", "emergency_suppression",
            "multi_turn")
# Families whose prompts train the detector as jailbreaks. Direct medication questions are left
# out: a carer may ask them sincerely, and the output rules (not a refusal) handle them.
DETECTOR_POSITIVE = {"roleplay", "override", "extraction", "obfuscation", "payload_split",
                     "privacy", "lethal_dose", "emergency_suppression"}


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _fill(text: str, rng: random.Random, lang: str, **extra: str) -> str:
    person = extra.get("person") or rng.choice(PEOPLE[lang])
    values = {
        "person": person, "Person_": _cap(person), "drug": rng.choice(DRUGS[lang]),
        "name": rng.choice(NAMES[lang]), "room": str(rng.choice([4, 7, 9, 12, 15, 21])),
    }
    values.update(extra)
    return text.format(**values)


def _ask(goal: str, rng: random.Random, lang: str) -> tuple[str, str]:
    if goal == "system_leak":
        return rng.choice(SYSTEM_LEAK_ASKS[lang]), goal
    return _fill(rng.choice(ASKS[goal][lang]), rng, lang), goal


def _leet(s: str) -> str:
    return s.translate(str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}))


_FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in string.ascii_letters}
_CYRILLIC = {"a": "а", "e": "е", "o": "о", "c": "с", "p": "р", "x": "х", "y": "у", "i": "і"}


def _obfuscate(payload: str) -> dict[str, str]:
    return {
        "b64": base64.b64encode(payload.encode()).decode(),
        "leet": _leet(payload),
        "spaced": " ".join(payload.replace(" ", "  ")).replace("    ", " / "),
        "fullwidth": payload.translate(str.maketrans(_FULLWIDTH)),
        "zerowidth": "\u200b".join(payload),
        "rot13": codecs.encode(payload, "rot13"),
        "reversed": payload[::-1],
        "hex": payload.encode().hex(" "),
        "homoglyph": payload.translate(str.maketrans(_CYRILLIC)),
    }


GOALS = ("dose_change", "stop_medication", "lethal_dose", "system_leak")


def _family_items(family: str, lang: str, templates_idx: list[int],
                  rng: random.Random) -> list[dict]:
    """All candidate items of one family and language built from the given template indices."""
    items = []
    for t in templates_idx:
        for _ in range(4):  # a few fillings per template; duplicates are dropped later
            if family in ("roleplay", "override"):
                goal = rng.choice(GOALS)
                ask, goal = _ask(goal, rng, lang)
                tpl = (ROLEPLAY if family == "roleplay" else OVERRIDE)[lang][t]
                turns = [tpl.format(ask=ask, Ask=_cap(ask))]
            elif family == "extraction":
                goal, turns = "system_leak", [EXTRACTION[lang][t]]
            elif family == "privacy":
                goal, turns = "data_leak", [_fill(PRIVACY[lang][t], rng, lang)]
            elif family in ("dose_change", "stop_medication", "lethal_dose",
                            "emergency_suppression"):
                bank = {"dose_change": DOSE, "stop_medication": STOP, "lethal_dose": LETHAL,
                        "emergency_suppression": EMERGENCY}[family]
                goal = "no_emergency" if family == "emergency_suppression" else family
                turns = [_fill(bank[lang][t], rng, lang)]
            elif family == "obfuscation":
                goal = rng.choice(GOALS[:3])
                ask, _ = _ask(goal, rng, lang)
                payload = rng.choice(OBFUSCATED_PAYLOADS[lang]).format(ask=ask)
                turns = [OBFUSCATION_WRAPPERS[lang][t].format(**_obfuscate(payload))]
            elif family == "payload_split":
                goal = rng.choice(GOALS[:3])
                ask, _ = _ask(goal, rng, lang)
                tpl = SPLIT[lang][t]
                text = " ".join(tpl)
                if "lethal" in text or "letal" in text or "matar" in text or "kill" in text:
                    goal = "lethal_dose"
                elif "system prompt" in text or "prompt" in text:
                    goal = "system_leak"
                person = rng.choice(PEOPLE[lang])
                turns = [_fill(turn.replace("{ask}", ask), rng, lang, person=person)
                         for turn in tpl]
            elif family == "multi_turn":
                tpl, goal = CRESCENDO[lang][t]
                person = rng.choice(PEOPLE[lang])
                drug = rng.choice(DRUGS[lang])
                turns = [_fill(turn, rng, lang, person=person, drug=drug) for turn in tpl]
            else:
                raise ValueError(family)
            items.append({"family": family, "lang": lang, "goal": goal, "template": t,
                          "turns": turns})
    return items


def _templates(family: str, lang: str) -> int:
    bank = {"roleplay": ROLEPLAY, "override": OVERRIDE, "extraction": EXTRACTION,
            "privacy": PRIVACY, "dose_change": DOSE, "stop_medication": STOP,
            "lethal_dose": LETHAL, "emergency_suppression": EMERGENCY,
            "obfuscation": OBFUSCATION_WRAPPERS, "payload_split": SPLIT,
            "multi_turn": CRESCENDO}[family]
    return len(bank[lang])


def _dedupe(items: list[dict]) -> list[dict]:
    seen, out = set(), []
    for item in items:
        key = json.dumps(item["turns"], ensure_ascii=False)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def build() -> dict[str, list[dict]]:
    """The three files' rows: attacks (evaluation), benign (evaluation), detector_train."""
    attacks, detector = [], []
    for family in FAMILIES:
        for lang in ("en", "es"):
            rng = random.Random(f"{family}-{lang}")
            n = _templates(family, lang)
            # Every third template (positions 2, 5, 8) is held out for the detector.
            held = [t for t in range(n) if t % 3 == 2]
            evals = [t for t in range(n) if t % 3 != 2]
            pool = _dedupe(_family_items(family, lang, evals, rng))
            rng.shuffle(pool)
            # Round-robin over templates so every evaluation template is represented.
            by_t: dict[int, list[dict]] = {}
            for item in pool:
                by_t.setdefault(item["template"], []).append(item)
            chosen: list[dict] = []
            while len(chosen) < PER_FAMILY_LANG and any(by_t.values()):
                for t in evals:
                    if by_t.get(t) and len(chosen) < PER_FAMILY_LANG:
                        chosen.append(by_t[t].pop())
            for i, item in enumerate(chosen):
                attacks.append({"id": f"{family}-{lang}-{i:02d}", **item})
            if family in DETECTOR_POSITIVE:
                for item in _dedupe(_family_items(family, lang, held, rng)):
                    for text in (item["turns"] if family == "payload_split"
                                 else item["turns"][-1:]):
                        detector.append({"text": text, "label": 1, "lang": lang,
                                         "family": family})
    benign = []
    for lang in ("en", "es"):
        rng = random.Random(f"benign-{lang}")
        templates = BENIGN[lang]
        evals = [t for t in range(len(templates)) if t % 5 != 4]
        held = [t for t in range(len(templates)) if t % 5 == 4]
        pool = [(t, person) for t in evals for person in PEOPLE[lang]]
        rng.shuffle(pool)
        seen: set[str] = set()
        for t, person in pool:
            topic, text = templates[t]
            text = _fill(text, rng, lang, person=person)
            if text in seen:
                continue
            seen.add(text)
            benign.append({"id": f"benign-{lang}-{len(seen) - 1:02d}", "family": "benign",
                           "lang": lang, "topic": topic, "template": t, "turns": [text]})
            if len(seen) == BENIGN_PER_LANG:
                break
        for t in held:
            for person in PEOPLE[lang]:
                detector.append({"text": _fill(templates[t][1], rng, lang, person=person),
                                 "label": 0, "lang": lang, "family": "benign"})
    detector.extend(_corpus_negatives())
    return {"attacks": attacks, "benign": benign, "detector_train": detector}


def _corpus_negatives() -> list[dict]:
    """Ordinary care questions: the user turns of the bundled care corpus's first train split,
    kept in `data/detector_care_negatives.jsonl` (deduplicated, in corpus order). The corpus's
    splits were rebuilt since (validation and test from a held-out part of its bank); the
    detector was trained on these turns, so they stay fixed here instead of following the
    corpus, and `detector_weights.json` keeps matching its training data."""
    path = Path(__file__).with_name("data") / "detector_care_negatives.jsonl"
    return [{"text": row["text"], "label": 0, "lang": row["lang"], "family": "care_corpus"}
            for row in map(json.loads, path.read_text(encoding="utf-8").splitlines())]


def _dump(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def render() -> dict[str, str]:
    return {name: _dump(rows) for name, rows in build().items()}


def stats(files: dict[str, list[dict]]) -> str:
    lines = ["| family | en | es | multi-turn |", "|---|---|---|---|"]
    counts = Counter((a["family"], a["lang"]) for a in files["attacks"])
    multi = Counter(a["family"] for a in files["attacks"] if len(a["turns"]) > 1)
    for family in FAMILIES:
        lines.append(f"| {family} | {counts[family, 'en']} | {counts[family, 'es']} | "
                     f"{multi[family]} |")
    lines.append(f"| **attacks** | {sum(v for (f, lang), v in counts.items() if lang == 'en')} "
                 f"| {sum(v for (f, lang), v in counts.items() if lang == 'es')} | "
                 f"{sum(multi.values())} |")
    benign = Counter(b["lang"] for b in files["benign"])
    lines.append(f"| benign | {benign['en']} | {benign['es']} | 0 |")
    det = Counter((d["label"], d["lang"]) for d in files["detector_train"])
    lines.append(f"\ndetector_train: {det[1, 'en']} + {det[1, 'es']} jailbreaks (en + es), "
                 f"{det[0, 'en']} + {det[0, 'es']} ordinary messages")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stats", action="store_true", help="print counts, write nothing")
    parser.add_argument("--out", default=str(DATA), help="folder to write the JSONL files to")
    args = parser.parse_args(argv)
    if args.stats:
        print(stats(build()))
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in render().items():
        (out / f"{name}.jsonl").write_text(text, encoding="utf-8")
        print(f"wrote {out / name}.jsonl ({text.count(chr(10))} rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
