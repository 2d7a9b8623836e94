"""The emergency classifier's token reader (`safety/token_head.py` trains it with torch,
`safety/token_reader.py` runs it in numpy): it must find a class carried by one token among
many, where a mean over the tokens blurs it, ignore padding, and read the same in numpy as in
torch."""

import numpy as np
import torch

from liquidcare.safety import token_head


def _head():
    return token_head


def _rows(n: int, seed: int) -> tuple[list[torch.Tensor], np.ndarray]:
    """Texts of 6-30 random tokens; class 0 holds one "acuity" token at a random place."""
    rng = np.random.default_rng(seed)
    mark = rng.standard_normal(16).astype(np.float32) * 3
    texts, labels = [], rng.integers(0, 3, n)
    for label in labels:
        t = rng.standard_normal((int(rng.integers(6, 31)), 16)).astype(np.float32)
        if label == 0:
            t[rng.integers(len(t))] = mark
        texts.append(torch.from_numpy(t))
    return texts, labels


def test_the_head_finds_one_token_that_decides_the_class():
    head = _head()
    texts, y = _rows(240, 0)
    train, test = np.arange(180), np.arange(180, 240)
    p = head.fit_predict(texts, texts, y, np.ones(len(y)), train, test, hidden=8, epochs=15)
    assert p.shape == (60,) and ((p >= 0) & (p <= 1)).all()
    live = y[test] == 0
    # every class-0 row above every other row (AUC 1 up to a rare tie)
    assert p[live].min() > np.quantile(p[~live], 0.9)


def test_padding_does_not_change_a_rows_reading():
    head = _head()
    model = head.TokenHead(16, 8).eval()
    texts, _ = _rows(3, 1)
    alone = model(head.pad(texts[:1]), head.pad(texts[:1]))
    longer = [texts[0], torch.zeros(60, 16)]  # a longer row in the batch pads the first
    padded = model(head.pad(longer), head.pad(longer))[:1]
    assert torch.allclose(alone, padded, atol=1e-5)


def test_numpy_reads_what_torch_reads_after_export(tmp_path):
    """The guard's numpy head (`token_reader`) on the exported JSON gives torch's
    probabilities, each text on its own and at its own length."""
    import json

    from liquidcare.safety.token_reader import TokenHeadWeights

    torch.manual_seed(3)
    model = token_head.TokenHead(16, 8).eval()
    path = tmp_path / "w.json"
    path.write_text(json.dumps(token_head.export(model, ["emergency", "about", "none"])))
    weights = TokenHeadWeights.load(path)
    texts, _ = _rows(4, 2)
    with torch.no_grad():
        want = model(token_head.pad(texts[:2]), token_head.pad(texts[2:])).softmax(-1).numpy()
    for i in range(2):
        got = weights.probabilities(texts[i].numpy(), texts[2 + i].numpy())
        assert np.allclose(got, want[i], atol=1e-4)


def test_bad_token_weights_are_a_clear_error(tmp_path):
    import pytest

    from liquidcare.safety.errors import PolicyError
    from liquidcare.safety.token_reader import TokenHeadWeights

    path = tmp_path / "w.json"
    path.write_text("{not json")
    with pytest.raises(PolicyError, match="cannot read the token reader"):
        TokenHeadWeights.load(path)
    path.write_text('{"classes": ["emergency"]}')
    with pytest.raises(PolicyError, match="not a token head"):
        TokenHeadWeights.load(path)


def test_a_long_message_is_read_in_its_cue_richest_piece():
    import re

    from liquidcare.safety.token_reader import TOKEN_CHARS, reader_texts, token_text

    cue = re.compile(r"\b(chest|pain)\b")
    filler = "we went to the shops and then had tea at home. " * 40
    text = filler[:700] + "now a crushing chest pain, chest pain down the arm. " + filler[:900]
    piece = token_text(text, cue)
    assert len(piece) <= TOKEN_CHARS and "chest" in piece
    assert token_text("short one", cue) == "short one"
    assert reader_texts(["only turn"], 3, cue) == ("only turn", None)
    assert reader_texts(["a", "b", "c", "d"], 3, cue) == ("d", "b \n c \n d")
