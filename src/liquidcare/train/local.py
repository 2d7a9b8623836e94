"""Keeping each liquid block close to its MLP while stage 2 trains the model end to end.

Stage 2 alone makes the *model's* output right on the training text, and nothing asks a block to
keep doing what its MLP did: after the demo's stage 2 the blocks of layers 24-26 were further from
their MLPs (relative MSE 1.0-1.3) than the least-squares map they started from (0.36-0.42), and
the model kept 1.16x the base perplexity on held-out care text but 1.64x on general prose. The
local term is stage 1's loss (each block on its MLP's cached input, against the MLP's cached
output, per-channel normalised MSE) added to stage 2's with a weight: a block may correct what the
blocks before it changed, but not drift off into fitting the corpus.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from liquidcare.surgery import liquid_blocks

from .activations import Activations


def local_term(model: nn.Module, acts: Activations) -> Callable[[Tensor], tuple[Tensor, float]]:
    """A function of global row indices → (mean normalised MSE of every block against its MLP
    on those rows of ``acts``, as a tensor to backpropagate, and its value). Rows beyond the
    rows that have per-MLP caches wrap around onto them (``row % n_total``); in a data-parallel
    run each process scores the wrapped rows it holds."""
    blocks = {b.layer: b.liquid for b in liquid_blocks(model).values()}
    missing = sorted(set(blocks) - set(acts.mlp_out))
    if missing:
        raise ValueError(f"the local term needs per-MLP caches of layers {missing}")
    device = next(model.parameters()).device
    scale = {i: acts.mlp_out[i].reshape(-1, acts.mlp_out[i].shape[-1]).std(0).to(device) + 1e-6
             for i in blocks}

    def term(global_rows: Tensor) -> tuple[Tensor, float]:
        rows = acts.local(global_rows % acts.n_total)
        total = torch.zeros((), device=device)
        if len(rows) == 0:
            return total, 0.0
        for layer, ffn in blocks.items():
            x = acts.mlp_in[layer][rows].to(device)
            y = acts.mlp_out[layer][rows].to(device)
            total = total + ((ffn(x).float() - y) / scale[layer]).pow(2).mean()
        total = total / len(blocks)
        return total, total.item()

    return term
