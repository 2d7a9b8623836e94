"""One round at one care centre, whichever way the server speaks to it.

The Flower path (`client_app`: Message-API records) and the SecAgg+ path (`secagg`: the legacy
FitIns/FitRes records that Flower's SecAgg+ workflow drives) differ only in how the global
adapter arrives and how the answer is wrapped; what the centre does in the round is this one
function, so every training option (local steps, FedProx's proximal term, KTO on the centre's
ratings) holds on both paths.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from .config import FedConfig


@dataclass
class CentreData:
    """Where a centre's data lives: its shard ``partition`` of ``centres`` (of ``corpus`` when
    the node names its own), and its exported ratings for KTO, if any."""

    partition: int
    centres: int
    corpus: str | None = None
    ratings: str | None = None


@dataclass
class RoundResult:
    model: nn.Module  # holding the centre's trained liquid weights
    num_examples: int  # training blocks: the weight of this centre's answer
    metrics: dict[str, float | int]  # numbers only, never text


def round_seed(cfg: FedConfig, server_round: int, partition: int) -> int:
    """Each centre and round draws its own batches, reproducibly."""
    return cfg.seed * 100_003 + server_round * 1_009 + partition


def train_round(cfg: FedConfig, data: CentreData, weights: dict[str, Tensor] | object,
                server_round: int, proximal_mu: float = 0.0) -> RoundResult:
    """Load the global liquid ``weights`` (an ArrayRecord or name → tensor), take
    ``cfg.local_steps`` LM steps on this centre's shard (with FedProx's proximal term when
    ``proximal_mu`` > 0), then ``cfg.kto_steps`` KTO steps when the centre has ratings."""
    from .centre import build_model, load_shard, train_lm
    from .params import load_arrays

    model, tokenizer = build_model(cfg)
    load_arrays(model, weights)
    shard = load_shard(cfg, data.partition, data.centres, data.corpus)
    losses = train_lm(model, shard, cfg.local_steps, cfg.lr, cfg.batch_size,
                      proximal_mu=proximal_mu,
                      seed=round_seed(cfg, server_round, data.partition))
    metrics: dict[str, float | int] = {
        "num-examples": int(shard.train.shape[0]), "partition-id": data.partition,
        "train-loss-first": losses[0] if losses else 0.0,
        "train-loss": losses[-1] if losses else 0.0,
    }
    ratings = data.ratings or cfg.ratings
    if ratings and cfg.kto_steps > 0:
        # a named ratings file that is missing is an error (read_training_rows says so), not a
        # round quietly trained without KTO
        from .retrain import FEDERATED_SCOPE, kto_train, read_training_rows

        # only a `store export --scope federated` file: consent to a centre's own retraining
        # is not consent to the federation's
        kto = kto_train(model, tokenizer, read_training_rows(ratings, FEDERATED_SCOPE),
                        cfg.kto_steps, cfg.kto_beta, batch_size=cfg.batch_size)
        metrics["kto-loss"] = kto["kto_loss_after"]
    return RoundResult(model, int(shard.train.shape[0]), metrics)


def evaluate_round(cfg: FedConfig, data: CentreData, weights: dict[str, Tensor] | object
                   ) -> tuple[float, int]:
    """(validation NLL per token, tokens scored) of the global ``weights`` on this centre's
    validation shard."""
    from .centre import build_model, evaluate_nll, load_shard
    from .params import load_arrays

    model, _ = build_model(cfg)
    load_arrays(model, weights)
    scores = evaluate_nll(model, load_shard(cfg, data.partition, data.centres, data.corpus))
    return scores.mean_nll, scores.tokens
