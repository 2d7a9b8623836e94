"""Perplexity: the one evaluator of every run — distillation, fine-tuning, each federated centre.

The callers differ only in how a batch's logits are obtained (the liquid suffix run from the
cached residual stream, the whole model, a centre's frozen prefix); the scoring is shared here:
the negative log-likelihood of every next token, summed, and, when a teacher's logits are given,
KL(teacher ‖ model) per token. Perplexity is ``exp(summed NLL / tokens)`` over the whole set, not
a mean of per-batch perplexities, so sets of any size and any batching give the same figure.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from . import parallel
from .activations import Activations
from .suffix import final_hidden


@dataclass
class Scores:
    """Sums over the tokens scored (a token is scored when the next one is known)."""

    nll: float
    tokens: int
    kl: float | None = None

    @property
    def mean_nll(self) -> float:
        return self.nll / max(self.tokens, 1)

    @property
    def ppl(self) -> float:
        return math.exp(self.mean_nll)

    def as_dict(self) -> dict[str, float]:
        """``{"ppl": ...}``, with ``"kl"`` (per token) when a teacher was compared."""
        out = {"ppl": self.ppl}
        if self.kl is not None:
            out["kl"] = self.kl / max(self.tokens, 1)
        return out


IGNORE_INDEX = -100  # a target that is not scored (a prompt token in completion-only training)


def next_token_nll(logits: Tensor, ids: Tensor) -> Tensor:
    """Summed NLL of ``ids[:, 1:]`` under ``logits`` (B, T - 1, V), the predictions made at
    positions ``0..T-2``. Training losses (divided by `scored_tokens`) and evaluation share it.
    ``ids`` may be labels: entries equal to ``IGNORE_INDEX`` are not scored (the Hugging Face
    convention), so completion-only training is this same loss on masked labels."""
    logits = logits.float()
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                       ids[:, 1:].reshape(-1), reduction="sum",
                                       ignore_index=IGNORE_INDEX)


def scored_tokens(ids: Tensor) -> int:
    """How many targets `next_token_nll` scores in ``ids`` (all but the first of each row, less
    the ``IGNORE_INDEX`` ones)."""
    return int((ids[:, 1:] != IGNORE_INDEX).sum().item())


def kl_sum(logits: Tensor, teacher_logits: Tensor) -> Tensor:
    """Summed KL(teacher ‖ model) over every position of the two (…, V) logit tensors."""
    logp = logits.float().log_softmax(-1)
    logq = teacher_logits.float().log_softmax(-1)
    return (logq.exp() * (logq - logp)).sum()


# rows -> (ids or labels (B, T), logits (B, T - 1, V), teacher logits (B, T - 1, V) or None)
BatchLogits = Callable[[Tensor], tuple[Tensor, Tensor, Tensor | None]]


@torch.no_grad()
def score(model: nn.Module, n_rows: int, batch_logits: BatchLogits, batch_size: int = 8,
          compare_teacher: bool = False, across_processes: bool = True) -> Scores:
    """Score ``n_rows`` rows in batches of ``batch_size`` with ``batch_logits``.

    ``compare_teacher``: sum KL(teacher ‖ model) too (``batch_logits`` then returns the
    teacher's logits; None counts as a KL of 0, the teacher scored against itself).
    ``across_processes``: sum over every process of a data-parallel run (each holds a shard).
    The model is put in eval mode for the pass and given back in the mode it was in."""
    was_training = model.training
    model.eval()
    nll = kl = 0.0
    count = 0
    try:
        for lo in range(0, n_rows, batch_size):
            rows = torch.arange(lo, min(lo + batch_size, n_rows))
            ids, logits, teacher = batch_logits(rows)
            nll += next_token_nll(logits, ids).item()
            if compare_teacher and teacher is not None:
                kl += kl_sum(logits, teacher).item()
            count += scored_tokens(ids)
    finally:
        model.train(was_training)
    if across_processes:
        nll, kl, count = parallel.sum_floats(nll, kl, count)
    return Scores(nll=nll, tokens=int(count), kl=kl if compare_teacher else None)


def evaluate(model: nn.Module, acts: Activations, batch_size: int = 8,
             teacher: bool = False, kl: bool = True) -> dict[str, float]:
    """Perplexity and mean KL(teacher ‖ model) per token on the packed blocks of ``acts``:
    of ``model`` run from the cached stream, or with ``teacher=True`` of the base model (its
    cached final hidden states, nothing re-run; KL 0). Summed over every process's shard.
    ``kl=False``: perplexity alone — the teacher's logits (a second vocabulary-wide product
    and softmax per token, a third of a held-out pass on SmolLM2) are not computed."""
    head = model.get_output_embeddings()
    device = head.weight.device
    hidden = None if teacher else _suffix_states(model, acts)

    def batch_logits(rows: Tensor):
        ids = acts.blocks[rows].to(device)
        target = acts.final[rows].to(device)
        if teacher:
            return ids, head(target[:, :-1]), None
        states = hidden[rows].to(device)
        return ids, head(states[:, :-1]), head(target[:, :-1]) if kl else None

    return score(model, acts.blocks.shape[0], batch_logits, batch_size,
                 compare_teacher=kl).as_dict()


SUFFIX_BATCH = 32  # rows per forward pass of the liquified blocks when scoring


@torch.no_grad()
def _suffix_states(model: nn.Module, acts: Activations) -> Tensor:
    """The model's final hidden states (n, T, d) on every row of ``acts``, run from the cached
    stream in batches of `SUFFIX_BATCH` rows. The liquid recurrence steps through the tokens
    one at a time and its cost per step hardly grows with the batch, so a wide batch here is
    far cheaper than the narrow one the vocabulary-wide scoring needs (its logits are
    rows × T × V floats)."""
    was_training = model.training
    model.eval()
    device = model.get_output_embeddings().weight.device
    n = acts.blocks.shape[0]
    out = None
    try:
        for lo in range(0, n, SUFFIX_BATCH):
            rows = slice(lo, min(lo + SUFFIX_BATCH, n))
            states = final_hidden(model, acts.first_layer, acts.start[rows].to(device),
                                  acts.blocks[rows].to(device)).float()
            if out is None:
                out = states.new_empty(n, *states.shape[1:])
            out[rows] = states
    finally:
        model.train(was_training)
    return out


def perplexity(model: nn.Module, acts: Activations, batch_size: int = 8,
               teacher: bool = False) -> float:
    return evaluate(model, acts, batch_size, teacher)["ppl"]
