"""Plain fine-tuning of a liquid adapter on any corpus: next-token loss, base frozen.

This is what the research did with its swapped GPT-2s on TinyStories and yelp_review_full: no
teacher, only the language-modelling loss of the liquified model on the text. With
``placement="parallel"`` (the liquid block added beside the frozen MLP, output starting at zero)
the model starts exactly at the base model and fine-tuning adapts it, as a PEFT adapter would;
with ``placement="replace"`` it has to relearn what the MLPs knew from the corpus alone, which is
why distillation (`distill`) comes first when there is a teacher.
"""

from __future__ import annotations

from torch import Tensor, nn

from .activations import Shard
from .checkpoint import Checkpointer
from .distill import Log, StageConfig, train_loop
from .evaluation import score
from .precision import autocast


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


def lm_perplexity(model: nn.Module, data: Shard, batch_size: int = 8,
                  precision: str = "fp32") -> dict[str, float]:
    """Validation perplexity of ``model`` on the packed blocks (summed over every process's
    shard)."""
    device = next(model.parameters()).device

    def batch_logits(rows: Tensor):
        ids = data.blocks[rows].to(device)
        with autocast(precision, device):
            logits = model(input_ids=ids, use_cache=False).logits
        return ids, logits[:, :-1], None

    return score(model, data.blocks.shape[0], batch_logits, batch_size).as_dict()
