"""What the teacher computes on real text, captured once so that students train cheaply.

Distilling an MLP into a liquid block needs, per replaced layer, the MLP's input and output on
real text (stage 1), and for end-to-end distillation the residual stream entering the first
replaced decoder block and the final hidden state (stage 2). Everything before the first replaced
block is frozen and stays identical, so one teacher pass over the corpus gives every later step
its inputs: the student then runs only the blocks it changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from liquidcare.surgery import find_mlps
from liquidcare.surgery.config import LiquidConfig

from .parallel import World


@dataclass
class Shard:
    """Packed blocks (n, T) of token ids: the rows ``rows`` of a corpus of ``n_total`` rows.

    In a data-parallel run each process holds a shard (see `liquidcare.train.parallel`); in one
    process, all the rows."""

    blocks: Tensor
    rows: Tensor
    n_total: int

    @classmethod
    def of(cls, blocks: Tensor, world: World | None = None) -> Shard:
        held = (world or World()).shard(blocks.shape[0])
        return cls(blocks[held], held, blocks.shape[0])

    @cached_property
    def _position(self) -> Tensor:
        """Global row → position in this shard (−1 where another process holds it); built
        once, then read by every micro-batch."""
        lookup = torch.full((self.n_total,), -1, dtype=torch.long)
        lookup[self.rows] = torch.arange(len(self.rows))
        return lookup

    def local(self, global_rows: Tensor) -> Tensor:
        """Positions in this shard of those ``global_rows`` it holds (the others dropped)."""
        found = self._position[global_rows]
        return found[found >= 0]

    @property
    def tokens(self) -> int:
        return self.blocks.numel()


@dataclass
class Activations(Shard):
    """Teacher activations over ``blocks`` (n, T) of token ids, kept on the CPU.

    mlp_in / mlp_out: per layer index, (n, T, d) — what the MLP saw and gave.
    start: (n, T, d) — the residual stream entering decoder block ``first_layer``.
    final: (n, T, d) — the last hidden state after the final norm (what the LM head reads).
    (blocks, rows, n_total: see `Shard`; a process captures only the rows it holds.)
    """

    layers: list[int]
    mlp_in: dict[int, Tensor]
    mlp_out: dict[int, Tensor]
    start: Tensor
    final: Tensor

    @property
    def first_layer(self) -> int:
        return min(self.layers)

    def head(self, rows: int) -> Activations:
        """The first ``rows`` rows of the corpus (globally; this process's share of them), with
        their per-MLP caches: what stage 1 trains on when only those rows have them."""
        m = int((self.rows < rows).sum())
        return Activations(blocks=self.blocks[:m], rows=self.rows[:m], n_total=rows,
                           layers=self.layers,
                           mlp_in={i: t[:m] for i, t in self.mlp_in.items()},
                           mlp_out={i: t[:m] for i, t in self.mlp_out.items()},
                           start=self.start[:m], final=self.final[:m])


@torch.no_grad()
def capture(
    model: nn.Module,
    blocks: Tensor,
    config: LiquidConfig,
    batch_size: int = 8,
    dtype: torch.dtype = torch.float32,
    progress: bool = True,
    world: World | None = None,
    mlp_rows: int | None = None,
) -> Activations:
    """Run the (unmodified) base ``model`` over ``blocks`` and keep what distillation needs;
    with a ``world`` of several processes, only over this process's shard of the rows.

    ``mlp_rows``: keep the per-MLP inputs and outputs only for the first ``mlp_rows`` rows
    (None: all; 0: none). The stream and the final state, which stage 2 and evaluation read,
    are kept for every row; the per-MLP caches (two tensors per layer) serve least squares and
    stage 1, which need far fewer tokens: a set used only to score, or the extra text of a
    long stage 2, then costs two tensors instead of two per layer."""
    shard = Shard.of(blocks, world)
    blocks = shard.blocks
    targets = find_mlps(model, config)
    layers = [t.layer for t in targets]
    device = next(model.parameters()).device
    n, T = blocks.shape
    d = model.config.get_text_config().hidden_size
    # the rows are strided over processes in ascending order: those below mlp_rows globally are
    # a prefix of this process's rows
    m = n if mlp_rows is None else int((shard.rows < mlp_rows).sum())
    kept = layers if m else []
    mlp_in = {i: torch.empty(m, T, d, dtype=dtype) for i in kept}
    mlp_out = {i: torch.empty(m, T, d, dtype=dtype) for i in kept}
    start = torch.empty(n, T, d, dtype=dtype)
    final = torch.empty(n, T, d, dtype=dtype)
    rows = slice(0, 0)

    def keep(layer: int):
        def hook(module, args, output):
            hi = min(rows.stop, m)
            if rows.start < hi:
                mlp_in[layer][rows.start : hi] = args[0][: hi - rows.start].to("cpu", dtype)
                mlp_out[layer][rows.start : hi] = output[: hi - rows.start].to("cpu", dtype)

        return hook

    handles = [t.module.register_forward_hook(keep(t.layer)) for t in targets if t.layer in kept]
    first = min(layers)
    decoder = getattr(model, "base_model", model)
    try:
        bar = tqdm(range(0, n, batch_size), desc="teacher pass", unit="batch", disable=not progress)
        for lo in bar:
            rows = slice(lo, min(lo + batch_size, n))
            # the decoder without the LM head: the logits of every position (vocabulary ×
            # width per token, a fifth of SmolLM2's forward pass) are never needed here
            out = decoder(input_ids=blocks[rows].to(device), output_hidden_states=True,
                          use_cache=False)
            # hidden_states[i] is the input of decoder block i; the last one is after the norm
            start[rows] = out.hidden_states[first].to("cpu", dtype)
            final[rows] = out.hidden_states[-1].to("cpu", dtype)
    finally:
        for handle in handles:
            handle.remove()
    return Activations(blocks=blocks, rows=shard.rows, n_total=shard.n_total, layers=layers,
                       mlp_in=mlp_in, mlp_out=mlp_out, start=start, final=final)
