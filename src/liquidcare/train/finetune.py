"""Plain fine-tuning of a liquid adapter on any corpus: next-token loss, base frozen.

This is what the research did with its swapped GPT-2s on TinyStories and yelp_review_full: no
teacher, only the language-modelling loss of the liquified model on the text. With
``placement="parallel"`` (the liquid block added beside the frozen MLP, output starting at zero)
the model starts exactly at the base model and fine-tuning adapts it, as a PEFT adapter would;
with ``placement="replace"`` it has to relearn what the MLPs knew from the corpus alone, which is
why distillation (`distill`) comes first when there is a teacher.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from . import parallel
from .activations import Shard
from .distill import Checkpointer, Log, StageConfig, autocast, train_loop


def finetune(model: nn.Module, data: Shard, cfg: StageConfig, seed: int = 0,
             log: Log | None = None, progress: bool = True,
             checkpoint: Checkpointer | None = None, precision: str = "fp32") -> list[float]:
    """Train the model's trainable (liquid) parameters on ``data`` with the LM loss."""
    device = next(model.parameters()).device
    T = data.blocks.shape[1]

    def loss_fn(rows: Tensor, step: int):
        ids = data.blocks[rows].to(device)
        # every row has T - 1 predicted tokens, so the mean over tokens weights rows equally
        loss = model(input_ids=ids, labels=ids, use_cache=False).loss
        return loss, {"lm": loss.item()}, rows.numel() * T

    return train_loop("fine-tune", model, cfg, loss_fn, data, ["lm"], seed, log, progress,
                      checkpoint, precision)


@torch.no_grad()
def lm_perplexity(model: nn.Module, data: Shard, batch_size: int = 8,
                  precision: str = "fp32") -> dict[str, float]:
    """Validation perplexity of ``model`` on the packed blocks (summed over every process's
    shard)."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    nll_sum = count = 0.0
    for lo in range(0, data.blocks.shape[0], batch_size):
        ids = data.blocks[lo : lo + batch_size].to(device)
        with autocast(precision, device):
            logits = model(input_ids=ids, use_cache=False).logits
        logp = logits[:, :-1].float().log_softmax(-1)
        nll_sum += -logp.gather(-1, ids[:, 1:, None]).sum().item()
        count += ids[:, 1:].numel()
    model.train(was_training)
    nll_sum, count = parallel.sum_floats(nll_sum, count)
    return {"ppl": math.exp(nll_sum / max(count, 1))}
