"""One care centre's side of the federation: its model, its corpus shard, local training, scoring.

Every function here runs where the data lives (a Flower ClientApp, or `retrain` in one centre);
nothing it returns holds text, only tensors and numbers.

Local steps run only the decoder blocks from the first liquified one on, from the residual stream
entering it (computed once per shard with the frozen layers below, which never change): on
SmolLM2 with ``last:6`` that skips 24 of the 30 blocks per step. The loss is the LM loss
(next-token cross-entropy), plus FedProx's proximal term ``mu/2 ||w - w_global||^2`` when the
server asks for it. A shard may carry labels beside its blocks (``IGNORE_INDEX`` where a token is
context only, as in the completion-only retraining of `retrain.conversation_shard`): the loss then
counts only the labelled tokens, while the stream and the liquid state still run over every token.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from liquidcare.surgery import (
    is_adapter_dir,
    liquid_blocks,
    liquid_state_dict,
    liquify,
    load_model,
    preset,
)
from liquidcare.train import final_hidden, supports_suffix
from liquidcare.train.evaluation import Scores, next_token_nll, score, scored_tokens

from .config import FedConfig, FederatedConfigError

_MODELS: dict[tuple, tuple[nn.Module, Any]] = {}
_SHARDS: dict[tuple, Shard] = {}
_INITIAL: dict[tuple, dict[str, Tensor]] = {}


def _model_key(cfg: FedConfig) -> tuple:
    return (cfg.model, cfg.preset, cfg.layers, cfg.placement, cfg.units, cfg.device, cfg.seed)


def build_model(cfg: FedConfig) -> tuple[nn.Module, Any]:
    """The liquified model every centre and the server share (cached per process: a simulation
    worker serves many rounds; callers overwrite all liquid weights before use)."""
    key = _model_key(cfg)
    if key in _MODELS:
        return _MODELS[key]
    path = Path(cfg.model)
    if is_adapter_dir(path) or is_adapter_dir(path / "adapter"):
        model, tokenizer = load_model(cfg.model, device=cfg.device)
    else:
        from liquidcare.models import load_base

        try:
            liquid = preset(cfg.preset, layers=cfg.layers, placement=cfg.placement or "parallel",
                            units=cfg.units or None)
        except ValueError as err:
            raise FederatedConfigError(str(err)) from None
        base, tokenizer = load_base(cfg.model, device=cfg.device)
        # a fixed seed: every centre and the server must build the same starting weights
        torch.manual_seed(cfg.seed)
        model = liquify(base, liquid)
    model.eval()
    _MODELS[key] = (model, tokenizer)
    _INITIAL[key] = {k: v.detach().clone() for k, v in liquid_state_dict(model).items()}
    return model, tokenizer


def initial_liquid_state(cfg: FedConfig) -> dict[str, Tensor]:
    """The liquid weights the model was built with (the cached model's may have moved since)."""
    build_model(cfg)
    return _INITIAL[_model_key(cfg)]


def first_liquid_layer(model: nn.Module) -> int:
    return min(block.layer for block in liquid_blocks(model).values())


def centre_documents(corpus: str, split: str, partition: int, centres: int) -> list[dict]:
    """The documents of centre ``partition`` of ``centres`` (non-IID by language).

    A corpus whose documents carry a ``lang`` (the care corpus: en, es) gives each centre one
    language, Spanish-speaking and English-speaking centres alternating (0: es, 1: en, 2: es...),
    the centres of one language sharing its documents round-robin; any other corpus is dealt
    round-robin by position.
    """
    from liquidcare.data import load_corpus

    if not 0 <= partition < centres:
        raise FederatedConfigError(f"partition-id={partition}: expected 0..{centres - 1}")
    try:
        docs = load_corpus(corpus, split=split)
    except (ValueError, OSError) as err:
        raise FederatedConfigError(f"corpus {corpus!r}: {err}") from None
    langs = sorted({d.get("lang") for d in docs if isinstance(d, dict) and d.get("lang")},
                   reverse=True)  # "es" first: centre 0 is a Spanish-speaking one
    if centres > 1 and len(langs) > 1 and all(isinstance(d, dict) and d.get("lang")
                                              for d in docs):
        lang = langs[partition % len(langs)]
        peers = [c for c in range(centres) if c % len(langs) == partition % len(langs)]
        mine = [d for d in docs if d["lang"] == lang]
        return mine[peers.index(partition)::len(peers)]
    return docs[partition::centres]


@dataclass
class Shard:
    """A centre's packed token blocks and, when the model allows, the frozen stream into its
    first liquid block (see the module docstring). ``train_labels``/``val_labels``, when given,
    are the blocks' targets with ``IGNORE_INDEX`` on tokens that are context only; without them
    every next token is a target."""

    train: Tensor
    val: Tensor
    first: int
    train_start: Tensor | None
    val_start: Tensor | None
    train_labels: Tensor | None = None
    val_labels: Tensor | None = None


def _pack(docs: list[dict], tokenizer, block_size: int, cap: int) -> Tensor:
    from liquidcare.data import CARE_SYSTEM_PROMPT, pack, tokenize_documents

    ids = tokenize_documents(docs, tokenizer, default_system=CARE_SYSTEM_PROMPT)
    stream = sum(len(x) for x in ids)
    if stream < block_size:
        raise FederatedConfigError(f"this centre's shard has {stream} tokens, fewer than one "
                                   f"block of {block_size}: use more data or a smaller "
                                   "block-size")
    blocks = pack(ids, block_size)
    return blocks[: max(cap // block_size, 1)]


@torch.no_grad()
def stream_into(model: nn.Module, blocks: Tensor, first: int, batch: int = 8) -> Tensor | None:
    """The frozen residual stream entering decoder block ``first`` on each block (computed once
    per shard: the layers below never change), or None where the model has no suffix run."""
    if not supports_suffix(model):
        return None
    device = next(model.parameters()).device
    parts = []
    for lo in range(0, blocks.shape[0], batch):
        out = model(input_ids=blocks[lo:lo + batch].to(device), output_hidden_states=True,
                    use_cache=False)
        parts.append(out.hidden_states[first].detach().cpu())
    return torch.cat(parts)


def load_shard(cfg: FedConfig, partition: int, centres: int, corpus: str | None = None) -> Shard:
    """This centre's shard (cached per process and centre)."""
    model, tokenizer = build_model(cfg)
    corpus = corpus or cfg.corpus
    key = (corpus, partition, centres, cfg.block_size, cfg.max_train_tokens, cfg.max_val_tokens,
           cfg.model, cfg.preset, cfg.layers, cfg.placement, cfg.units)
    if key not in _SHARDS:
        train = _pack(centre_documents(corpus, "train", partition, centres), tokenizer,
                      cfg.block_size, cfg.max_train_tokens)
        val = _pack(centre_documents(corpus, "validation", partition, centres), tokenizer,
                    cfg.block_size, cfg.max_val_tokens)
        first = first_liquid_layer(model)
        _SHARDS[key] = Shard(train, val, first, stream_into(model, train, first),
                             stream_into(model, val, first))
    return _SHARDS[key]


def _hidden(model: nn.Module, shard: Shard, ids: Tensor, start: Tensor | None) -> Tensor:
    if start is None:
        return model(input_ids=ids, output_hidden_states=True, use_cache=False).hidden_states[-1]
    return final_hidden(model, shard.first, start, ids)


def train_lm(model: nn.Module, shard: Shard, steps: int, lr: float, batch_size: int,
             proximal_mu: float = 0.0, seed: int = 0) -> list[float]:
    """``steps`` AdamW steps of LM loss on the shard's training blocks (liquid weights only);
    returns the mean loss per target token of each step (without the proximal term)."""
    params = [p for p in model.parameters() if p.requires_grad]
    anchor = [p.detach().clone() for p in params] if proximal_mu > 0 else []
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    device = params[0].device
    g = torch.Generator().manual_seed(seed)
    n = shard.train.shape[0]
    losses = []
    model.train()
    for _ in range(steps):
        rows = torch.randperm(n, generator=g)[:batch_size]
        ids = shard.train[rows].to(device)
        start = None if shard.train_start is None else shard.train_start[rows].to(device)
        targets = ids if shard.train_labels is None else shard.train_labels[rows].to(device)
        hidden = _hidden(model, shard, ids, start)
        lm = next_token_nll(model.get_output_embeddings()(hidden[:, :-1]), targets) \
            / max(scored_tokens(targets), 1)
        loss = lm
        if proximal_mu > 0:
            loss = loss + proximal_mu / 2 * sum((p - a).pow(2).sum()
                                                for p, a in zip(params, anchor, strict=True))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(lm.item())
    model.eval()
    return losses


def evaluate_nll(model: nn.Module, shard: Shard, batch: int = 8) -> Scores:
    """Summed next-token NLL and tokens scored on the shard's validation blocks (this centre
    only: a Flower client is no data-parallel process)."""
    device = next(model.parameters()).device
    head = model.get_output_embeddings()

    def batch_logits(rows: Tensor):
        ids = shard.val[rows].to(device)
        start = None if shard.val_start is None else shard.val_start[rows].to(device)
        targets = ids if shard.val_labels is None else shard.val_labels[rows].to(device)
        return targets, head(_hidden(model, shard, ids, start)[:, :-1]), None

    return score(model, shard.val.shape[0], batch_logits, batch, across_processes=False)
