"""Defences against a bad centre: server-side update-norm clipping and Flower's robust
aggregators.

FedAvg averages whatever arrives, so one centre sending a scaled or sign-flipped update moves the
global adapter wherever it likes. Two defences, applied to each centre's update
``Δ_k = w_k − w_global`` before aggregation:

- **Update-norm clipping** (norm bounding, Sun et al. 2019, arXiv 1911.07963): every update
  longer than a bound is scaled down to it, ``Δ_k ← Δ_k · min(1, C / ‖Δ_k‖)``. ``median``
  takes C as the median norm of the round's updates (no scale to tune: with an honest
  majority the median norm is an honest one), ``fixed`` takes ``clip-norm``. A scaled-up
  update then weighs no more than an honest one, whatever its factor.
- **Robust aggregation**, Flower's own strategies in place of the mean: FedMedian (the
  coordinate-wise median, Yin et al. 2018), FedTrimmedAvg (the coordinate-wise mean of what is
  left after cutting ``trim-beta`` of the values at each end), Krum / MultiKrum (the update(s)
  closest to their ``n − f − 2`` nearest neighbours, Blanchard et al. 2017) and Bulyan
  (Krum selection, then a trimmed mean around the median, El Mhamdi et al. 2018).
  ``assumed-malicious`` is Krum's and Bulyan's ``f``.

Each needs an honest majority of a size Flower's papers state; `check_centres` refuses a run
whose centres are too few for the aggregator to tolerate ``f`` bad ones, rather than letting it
run undefended.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from flwr.app import Array, ArrayRecord, Message

from .config import AGGREGATIONS, FedConfig, FederatedConfigError


def minimum_centres(cfg: FedConfig) -> int:
    """The fewest answering centres with which ``cfg.aggregation`` tolerates
    ``cfg.assumed_malicious`` bad ones (1 for the mean, which tolerates none)."""
    f = cfg.assumed_malicious
    if cfg.aggregation == "median":
        return 2 * f + 1  # the median is an honest value while the honest are a majority
    if cfg.aggregation == "trimmed-mean":
        # int(beta * n) values are cut at each end: at least f of them
        return max(2 * f + 1, math.ceil(f / cfg.trim_beta - 1e-9)) if f else 1
    if cfg.aggregation in ("krum", "multi-krum"):
        return 2 * f + 3  # Blanchard et al.: n > 2f + 2
    if cfg.aggregation == "bulyan":
        return 4 * f + 3  # El Mhamdi et al.; Flower's Bulyan refuses fewer
    return 1


def check_centres(cfg: FedConfig, centres: int) -> None:
    """Refuse a run whose ``centres`` cannot make the chosen aggregation robust."""
    need = minimum_centres(cfg)
    if centres < need:
        raise FederatedConfigError(
            f"aggregation={cfg.aggregation!r} with assumed-malicious={cfg.assumed_malicious}"
            + (f" and trim-beta={cfg.trim_beta}" if cfg.aggregation == "trimmed-mean" else "")
            + f" needs at least {need} centres per round, this run has {centres}: add centres, "
            "lower assumed-malicious, or choose aggregation=mean with update-clip=median")


def robust_strategy(cfg: FedConfig, common: dict[str, Any], centres: int):
    """The Flower strategy that aggregates ``centres`` answers with ``cfg.aggregation``."""
    from flwr.serverapp.strategy import Bulyan, FedMedian, FedTrimmedAvg, Krum, MultiKrum

    f = cfg.assumed_malicious
    if cfg.aggregation == "median":
        return FedMedian(**common)
    if cfg.aggregation == "trimmed-mean":
        return FedTrimmedAvg(**common, beta=cfg.trim_beta)
    if cfg.aggregation == "krum":
        return Krum(**common, num_malicious_nodes=f)
    if cfg.aggregation == "multi-krum":
        # MultiKrum averages the n - f best-scored updates
        return MultiKrum(**common, num_malicious_nodes=f,
                         num_nodes_to_select=max(centres - f, 1))
    if cfg.aggregation == "bulyan":
        return Bulyan(**common, num_malicious_nodes=f)
    raise FederatedConfigError(f"aggregation={cfg.aggregation!r}: choose one of {AGGREGATIONS}")


def _arrays(record: ArrayRecord) -> dict[str, np.ndarray]:
    return {name: array.numpy() for name, array in record.items()}


def update_norm(record: ArrayRecord, global_arrays: dict[str, np.ndarray]) -> float:
    """‖w_k − w_global‖ over every liquid parameter, in float64."""
    return math.sqrt(sum(float(((a.astype(np.float64) - global_arrays[n]) ** 2).sum())
                         for n, a in _arrays(record).items()))


def clip_updates(replies: Iterable[Message], global_arrays: dict[str, np.ndarray],
                 mode: str, fixed_norm: float) -> dict[int, tuple[float, float]]:
    """Scale every reply's update to at most the bound (in place: the replies then carry
    ``w_global + Δ_k · s_k``). Returns, per reply index, (the update's norm, the scale s_k)."""
    replies = list(replies)
    norms = [update_norm(r.content["arrays"], global_arrays) for r in replies]
    if mode == "none" or not norms:
        return {i: (n, 1.0) for i, n in enumerate(norms)}
    bound = float(np.median(norms)) if mode == "median" else fixed_norm
    out = {}
    for i, (reply, norm) in enumerate(zip(replies, norms, strict=True)):
        scale = 1.0 if norm <= bound or norm == 0 else bound / norm
        if scale < 1.0:
            clipped = ArrayRecord()
            for name, value in _arrays(reply.content["arrays"]).items():
                base = global_arrays[name]
                clipped[name] = Array(
                    (base + (value.astype(np.float64) - base) * scale).astype(value.dtype))
            reply.content["arrays"] = clipped
        out[i] = (norm, scale)
    return out
