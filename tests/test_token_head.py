"""The token reader of benchmarks/emergency_loso.py (`--models e5tok`): it must find a class
carried by one token among many, where a mean over the tokens blurs it, and ignore padding."""

import numpy as np
import torch
from bench_helpers import load_benchmark


def _head():
    return load_benchmark("token_head")


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
