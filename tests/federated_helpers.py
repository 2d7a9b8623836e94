"""A tiny world for the federation's tests: a tiny Llama saved as a model folder, a learnable
two-language corpus of word tokens ("en" centres count up by 1, "es" centres by 2), and a store
export of rated replies."""

from __future__ import annotations

import json
import random
from pathlib import Path

from tiny_models import save_tiny


def tiny_world(root: Path) -> dict[str, Path]:
    root.mkdir(parents=True, exist_ok=True)
    model = save_tiny(root / "tiny")
    rng = random.Random(0)
    corpus = root / "corpus.jsonl"
    with open(corpus, "w") as f:
        for i in range(120):
            lang = "en" if i % 2 else "es"
            step = 1 if lang == "en" else 2
            start = rng.randrange(3, 40)
            words = " ".join(f"w{3 + (start + step * k) % 90}" for k in range(40))
            f.write(json.dumps({"text": words, "lang": lang}) + "\n")
    return {"model": model, "corpus": corpus}


def rated_rows(n: int = 8, scope: str = "research_retraining") -> list[dict]:
    """Rows as the store's export_training_set writes them for consent ``scope``: good replies
    continue the count, bad ones jump around."""
    rows = []
    for i in range(n):
        good = i % 2 == 0
        prompt = " ".join(f"w{10 + i + k}" for k in range(4))
        reply = (" ".join(f"w{14 + i + k}" for k in range(4)) if good
                 else " ".join(f"w{80 - 7 * k}" for k in range(4)))
        rows.append({"prompt": [{"role": "system", "content": "w1 w2"},
                                {"role": "user", "content": prompt}],
                     "completion": [{"role": "assistant", "content": reply}],
                     "label": good, "message_id": 100 + i, "conversation_id": 7,
                     "twin_id": None, "model_version": "tiny", "scope": scope})
    return rows


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
