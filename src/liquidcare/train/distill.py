"""Getting a pretrained model's quality back after its MLPs were swapped for liquid blocks.

    init    each block's linear skip ← least squares from the MLP's input to its output
            (late MLPs are mostly linear: this alone carries much of what they did)
    stage 1 every block learns its MLP's output on real text, all layers at once, from cached
            activations (MSE per channel, normalised by the channel's spread)
    stage 2 end to end: the student runs from the cached stream entering the first liquified
            block to the logits; loss = logit MSE over every position (exact and cheap: through
            the Gram matrix of the unembedding) + KL(teacher ‖ student) + LM loss on a sample of
            positions, where the full vocabulary is paid for

Small per-layer errors compound through the later blocks, which is why stage 1 is only a start
and the model-level objective of stage 2 decides the result.

The loops are plain PyTorch over cached activations rather than HF `Trainer`: the batches are
tensors of teacher activations, not the token-id `Dataset` that `Trainer` expects, and stage 2
runs only the model's last blocks. Data-parallel runs (`torchrun`, through `accelerate`) are not
wired in yet: one process trains.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from liquidcare.surgery import liquid_blocks

from .activations import Activations
from .suffix import final_hidden


@dataclass
class StageConfig:
    steps: int = 200
    lr: float = 2e-3
    batch_size: int = 4
    warmup: int = 10
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    skip_lr_scale: float = 0.02


@dataclass
class DistillConfig:
    stage1: StageConfig = field(default_factory=StageConfig)
    stage2: StageConfig = field(default_factory=lambda: StageConfig(steps=200, lr=5e-4))
    least_squares: bool = True
    ridge: float = 1e-3
    kl_positions: int = 64  # per batch: where the full-vocabulary KL and LM loss are computed
    kl_weight: float = 1.0
    lm_weight: float = 0.1
    seed: int = 0


Log = Callable[[str, int, dict[str, float]], None]


def _cosine(step: int, cfg: StageConfig) -> float:
    if step < cfg.warmup:
        return (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(cfg.steps - cfg.warmup, 1)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def _blocks_by_layer(model: nn.Module) -> dict[int, nn.Module]:
    blocks = liquid_blocks(model)
    if any(b.mlp is not None for b in blocks.values()):
        raise ValueError(
            "distillation replaces MLPs: this model was liquified with placement='parallel', "
            "which already starts at the base model's outputs (fine-tune it instead)"
        )
    return {b.layer: b.liquid for b in blocks.values()}


@torch.no_grad()
def init_least_squares(model: nn.Module, acts: Activations, ridge: float = 1e-3,
                       max_tokens: int = 65536) -> dict[int, float]:
    """Set each block's linear skip to the ridge least-squares map MLP-input → MLP-output and
    zero its liquid out-projection, so the block starts as that map. Returns the relative MSE
    of the map per layer (how much of each MLP is linear)."""
    residual = {}
    for layer, ffn in _blocks_by_layer(model).items():
        if ffn.skip is None:
            raise ValueError("least-squares init needs LiquidConfig(linear_skip=True)")
        x = acts.mlp_in[layer].reshape(-1, acts.mlp_in[layer].shape[-1])[:max_tokens].float()
        y = acts.mlp_out[layer].reshape(-1, x.shape[-1])[:max_tokens].float()
        xm, ym = x.mean(0), y.mean(0)
        xc, yc = x - xm, y - ym
        # the products in float32 (fast; centred data and the ridge keep them well conditioned),
        # the solve in float64
        gram = (xc.T @ xc).double()
        gram += ridge * gram.diagonal().mean() * torch.eye(gram.shape[0], dtype=gram.dtype)
        w = torch.linalg.solve(gram, (xc.T @ yc).double()).float()  # (d_in, d_out)
        ref = ffn.skip.weight
        ffn.skip.weight.copy_(w.T.to(ref.dtype))
        ffn.skip.bias.copy_((ym - xm @ w).to(ref.dtype))
        ffn.out_proj.weight.zero_()
        ffn.out_proj.bias.zero_()
        residual[layer] = float(((xc @ w - yc) ** 2).mean() / (yc**2).mean())
    return residual


def _optimizer(model: nn.Module, cfg: StageConfig) -> torch.optim.Optimizer:
    # Adam moves every weight by about lr per step whatever its gradient, which would throw
    # the least-squares skip (already at its optimum) far off; it gets a small step instead.
    skip, rest = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (skip if ".skip." in name else rest).append(p)
    groups = [{"params": rest, "lr": cfg.lr}]
    if skip:
        groups.append({"params": skip, "lr": cfg.lr * cfg.skip_lr_scale})
    return torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)


def _trainable(model: nn.Module) -> list[nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def _batches(n: int, cfg: StageConfig, seed: int):
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=g)
    cursor = 0
    for _ in range(cfg.steps):
        if cursor + cfg.batch_size > n:
            order, cursor = torch.randperm(n, generator=g), 0
        yield order[cursor : cursor + cfg.batch_size]
        cursor += cfg.batch_size


class Checkpointer:
    """Writes the training state every ``every`` steps to ``path`` (temp file + rename, so a
    kill mid-write leaves the previous checkpoint), and hands it back to resume from."""

    def __init__(self, path: str | os.PathLike[str], every: int = 50, resume: bool = False):
        self.path = Path(path)
        self.every = every
        self.state: dict | None = None
        if resume and self.path.is_file():
            try:
                self.state = torch.load(self.path, map_location="cpu", weights_only=True)
            except Exception as err:  # a damaged checkpoint must not pass for a fresh start
                raise ValueError(f"cannot resume: {self.path} is unreadable ({err})") from None

    def start_of(self, name: str, model: nn.Module, opt, sched) -> tuple[int, list[float]]:
        """Load the saved state of stage ``name`` if the checkpoint has one."""
        state = self.state
        if state is None or name not in state["stages"]:
            return 0, []
        saved = state["stages"][name]
        params = dict(model.named_parameters())
        with torch.no_grad():
            for key, value in saved["trainable"].items():
                params[key].copy_(value.to(params[key].device, params[key].dtype))
        opt.load_state_dict(saved["optimizer"])
        sched.load_state_dict(saved["scheduler"])
        return saved["step"], list(saved["losses"])

    def save(self, name: str, step: int, model: nn.Module, opt, sched, losses: list[float]):
        state = self.state or {"stages": {}}
        state["stages"][name] = {
            "step": step,
            "trainable": {k: p.detach().cpu() for k, p in model.named_parameters()
                          if p.requires_grad},
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "losses": list(losses),
        }
        self.state = state
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        torch.save(state, tmp)
        os.replace(tmp, self.path)


def _run(name: str, model: nn.Module, cfg: StageConfig, loss_fn, n: int, seed: int,
         log: Log | None, progress: bool, checkpoint: Checkpointer | None = None) -> list[float]:
    params = _trainable(model)
    opt = _optimizer(model, cfg)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _cosine(s, cfg))
    start, losses = (checkpoint.start_of(name, model, opt, sched) if checkpoint else (0, []))
    model.train()
    started = time.perf_counter()
    tokens = 0
    bar = tqdm(enumerate(_batches(n, cfg, seed)), total=cfg.steps, desc=name, disable=not progress,
               initial=start)
    for step, rows in bar:
        if step < start:  # resumed: the data order is replayed, the steps are not
            continue
        loss, parts, ntok = loss_fn(rows)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        opt.step()
        sched.step()
        tokens += ntok
        losses.append(loss.item())
        rate = tokens / max(time.perf_counter() - started, 1e-9)
        bar.set_postfix(loss=f"{losses[-1]:.4f}", tok_s=f"{rate:.0f}")
        if log is not None:
            log(name, step, {"loss": losses[-1], **parts, "tokens_per_s": rate,
                             "lr": sched.get_last_lr()[0]})
        if checkpoint is not None and ((step + 1) % checkpoint.every == 0
                                       or step + 1 == cfg.steps):
            checkpoint.save(name, step + 1, model, opt, sched, losses)
    model.eval()
    return losses


def stage1(model: nn.Module, acts: Activations, cfg: StageConfig, seed: int = 0,
           log: Log | None = None, progress: bool = True,
           checkpoint: Checkpointer | None = None) -> list[float]:
    """Each liquid block learns its MLP's output (per-channel normalised MSE), all at once."""
    blocks = _blocks_by_layer(model)
    scale = {i: acts.mlp_out[i].reshape(-1, acts.mlp_out[i].shape[-1]).std(0) + 1e-6
             for i in blocks}
    device = next(model.parameters()).device

    def loss_fn(rows: Tensor):
        parts = {}
        total = torch.zeros((), device=device)
        for layer, ffn in blocks.items():
            x = acts.mlp_in[layer][rows].to(device)
            y = acts.mlp_out[layer][rows].to(device)
            err = (ffn(x) - y) / scale[layer].to(device)
            parts[f"mse_layer{layer}"] = err.pow(2).mean()
            total = total + parts[f"mse_layer{layer}"]
        n_tok = rows.numel() * acts.blocks.shape[1]
        return total / len(blocks), {k: v.item() for k, v in parts.items()}, n_tok

    return _run("stage 1", model, cfg, loss_fn, acts.blocks.shape[0], seed, log, progress,
                checkpoint)


@torch.no_grad()
def layer_errors(model: nn.Module, acts: Activations, batch_size: int = 8) -> dict[int, float]:
    """Relative MSE ‖block(x) − mlp(x)‖² / ‖mlp(x) − mean‖² per liquified layer on ``acts``."""
    errors = {}
    device = next(model.parameters()).device
    for layer, ffn in _blocks_by_layer(model).items():
        num = den = 0.0
        y_mean = acts.mlp_out[layer].reshape(-1, acts.mlp_out[layer].shape[-1]).mean(0)
        for lo in range(0, acts.blocks.shape[0], batch_size):
            x = acts.mlp_in[layer][lo : lo + batch_size].to(device)
            y = acts.mlp_out[layer][lo : lo + batch_size].to(device)
            num += (ffn(x) - y).pow(2).sum().item()
            den += (y - y_mean.to(device)).pow(2).sum().item()
        errors[layer] = num / max(den, 1e-12)
    return errors


def logit_gram(model: nn.Module) -> Tensor:
    """G = Wcᵀ Wc / V for the unembedding W (V, d) with its mean row removed: for hidden
    states a, b, (a − b)ᵀ G (a − b) is the mean squared difference of their (centred) logits."""
    w = model.get_output_embeddings().weight.detach().double()
    wc = w - w.mean(0, keepdim=True)
    return (wc.T @ wc / w.shape[0]).float()


def stage2(model: nn.Module, acts: Activations, cfg: DistillConfig, log: Log | None = None,
           progress: bool = True, checkpoint: Checkpointer | None = None) -> list[float]:
    """End-to-end distillation from the cached stream into the first liquified block."""
    device = next(model.parameters()).device
    gram = logit_gram(model).to(device)
    head = model.get_output_embeddings()
    g = torch.Generator().manual_seed(cfg.seed + 1)
    first = acts.first_layer

    def loss_fn(rows: Tensor):
        ids = acts.blocks[rows].to(device)
        teacher = acts.final[rows].to(device)
        student = final_hidden(model, first, acts.start[rows].to(device), ids)
        diff = (student - teacher).reshape(-1, teacher.shape[-1])
        logit_mse = ((diff @ gram) * diff).sum(-1).mean()
        # KL and LM loss where the next token is known, at a random sample of positions
        B, T, d = teacher.shape
        flat = torch.randperm(B * (T - 1), generator=g)[: cfg.kl_positions]
        b, t = flat // (T - 1), flat % (T - 1)
        s_logits = head(student[b.to(device), t.to(device)]).float()
        t_logits = head(teacher[b.to(device), t.to(device)]).float()
        kl = nn.functional.kl_div(s_logits.log_softmax(-1), t_logits.log_softmax(-1),
                                  log_target=True, reduction="batchmean")
        lm = nn.functional.cross_entropy(s_logits, ids[b, t + 1])
        loss = logit_mse + cfg.kl_weight * kl + cfg.lm_weight * lm
        parts = {"logit_mse": logit_mse.item(), "kl": kl.item(), "lm": lm.item()}
        return loss, parts, B * T

    return _run("stage 2", model, cfg.stage2, loss_fn, acts.blocks.shape[0], cfg.seed + 2,
                log, progress, checkpoint)


@torch.no_grad()
def evaluate(model: nn.Module, acts: Activations, batch_size: int = 8,
             teacher: bool = False) -> dict[str, float]:
    """Perplexity and mean KL(teacher ‖ model) per token on the packed blocks of ``acts``:
    of ``model`` run from the cached stream, or with ``teacher=True`` of the base model (its
    cached final hidden states, nothing re-run; KL 0)."""
    head = model.get_output_embeddings()
    device = head.weight.device
    nll_sum = kl_sum = 0.0
    count = 0
    for lo in range(0, acts.blocks.shape[0], batch_size):
        rows = torch.arange(lo, min(lo + batch_size, acts.blocks.shape[0]))
        ids = acts.blocks[rows].to(device)
        target = acts.final[rows].to(device)
        hidden = target if teacher else final_hidden(
            model, acts.first_layer, acts.start[rows].to(device), ids)
        logp = head(hidden[:, :-1]).float().log_softmax(-1)
        nll_sum += -logp.gather(-1, ids[:, 1:, None]).sum().item()
        if not teacher:
            logq = head(target[:, :-1]).float().log_softmax(-1)
            kl_sum += (logq.exp() * (logq - logp)).sum().item()
        count += ids[:, 1:].numel()
    return {"ppl": math.exp(nll_sum / max(count, 1)), "kl": kl_sum / max(count, 1)}


def perplexity(model: nn.Module, acts: Activations, batch_size: int = 8,
               teacher: bool = False) -> float:
    return evaluate(model, acts, batch_size, teacher)["ppl"]
