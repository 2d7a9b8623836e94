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

The loop (`train_loop`, shared with fine-tuning) is plain PyTorch rather than HF `Trainer` or
`accelerate`: the batches are tensors of teacher activations, not the token-id `Dataset` that
`Trainer` expects, stage 2 runs only the model's last blocks from a cached stream, and
data-parallel runs under `torchrun` sum gradients themselves (see `parallel` for why DDP's wrapper
does not fit). It has what those give: gradient accumulation, warmup + cosine schedule, bf16/fp16
autocast, clipping, atomic checkpoints and resume, a progress bar with loss and tokens/s, and
TensorBoard scalars through ``log``.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from liquidcare.surgery import LiquidConfigError, liquid_blocks
from liquidcare.surgery.lora import LORA_PARAMS

from . import parallel
from .activations import Activations, Shard
from .checkpoint import Checkpointer
from .precision import autocast
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
    # the attention LoRAs (LiquidConfig.attention_lora) learn at their own rate: they correct a
    # pretrained model's attention and want a far smaller step than the liquid blocks' 3e-2
    lora_lr: float = 1e-3
    accumulate: int = 1  # micro-batches of batch_size per optimizer step
    # A time budget instead of a step count (benchmarks compare cells at equal time): the stage
    # stops after `budget_s` seconds of `clock` ("wall", or "cpu": this process's CPU time), and
    # the cosine schedule follows the elapsed fraction. CPU time is no shield against other work
    # on the machine: torch's threads spin while they wait for each other, and that counts as
    # CPU time (measured: 12x more CPU seconds per step on a loaded 2-core machine).
    budget_s: float | None = None
    clock: str = "wall"

    def __post_init__(self) -> None:
        if self.clock not in ("cpu", "wall"):
            raise LiquidConfigError(f"clock {self.clock!r}: use 'cpu' or 'wall'")
        for key in ("steps", "batch_size", "accumulate"):
            if not isinstance(getattr(self, key), int) or getattr(self, key) < (key != "steps"):
                raise LiquidConfigError(f"{key} must be a whole number >= "
                                        f"{int(key != 'steps')}, got {getattr(self, key)!r}")
        if isinstance(self.lora_lr, bool) or not isinstance(self.lora_lr, (int, float)) \
                or not self.lora_lr > 0:
            raise LiquidConfigError(f"lora_lr must be a positive number, got {self.lora_lr!r}")


@dataclass
class DistillConfig:
    stage1: StageConfig = field(default_factory=StageConfig)
    stage2: StageConfig = field(default_factory=lambda: StageConfig(steps=200, lr=5e-4))
    least_squares: bool = True
    ridge: float = 1e-3
    kl_positions: int = 64  # per batch: where the full-vocabulary KL and LM loss are computed
    kl_weight: float = 1.0
    lm_weight: float = 0.1
    local_weight: float = 0.0  # stage 2: + this × each block's MSE against its MLP (`local`)
    seed: int = 0
    precision: str = "fp32"  # fp32 | bf16 | fp16 (resolved from "auto" by the pipeline)


Log = Callable[[str, int, dict[str, float]], None]


def _cosine(step: int, cfg: StageConfig, fraction: float | None = None) -> float:
    """Linear warmup, then cosine from 1 to 0.1 over the steps (or over the time budget:
    ``fraction`` of it spent)."""
    if step < cfg.warmup:
        return (step + 1) / cfg.warmup
    if fraction is None:
        fraction = (step - cfg.warmup) / max(cfg.steps - cfg.warmup, 1)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(fraction, 1.0)))


class _Budget:
    """Seconds spent since the stage started, on the configured clock."""

    def __init__(self, cfg: StageConfig):
        self.cfg = cfg
        self.now = time.process_time if cfg.clock == "cpu" else time.perf_counter
        self.start = self.now()
        self.fraction: float | None = None if cfg.budget_s is None else 0.0

    def spent(self) -> bool:
        """Read the clock (once per step) and say whether the budget is used up."""
        if self.cfg.budget_s is None:
            return False
        mine = (self.now() - self.start) / self.cfg.budget_s
        # every process must stop, and schedule, alike: the main process's clock counts
        self.fraction = parallel.sum_floats(mine if parallel.current().main else 0.0)[0]
        return self.fraction >= 1.0


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
    of the map per layer (how much of each MLP is linear). In a data-parallel run the sums are
    taken over every process's shard (``max_tokens`` split between them)."""
    world = parallel.current()
    residual = {}
    for layer, ffn in _blocks_by_layer(model).items():
        if ffn.skip is None:
            raise ValueError("least-squares init needs LiquidConfig(linear_skip=True)")
        d = acts.mlp_in[layer].shape[-1]
        cap = max(max_tokens // world.size, 1)
        x = acts.mlp_in[layer].reshape(-1, d)[:cap].float()
        y = acts.mlp_out[layer].reshape(-1, d)[:cap].float()
        sums = parallel.all_sum(torch.cat([x.double().sum(0), y.double().sum(0),
                                           torch.tensor([x.shape[0]], dtype=torch.float64)]))
        xm, ym = (sums[:d] / sums[-1]).float(), (sums[d : 2 * d] / sums[-1]).float()
        xc, yc = x - xm, y - ym
        # the products in float32 (fast; centred data and the ridge keep them well conditioned),
        # the solve in float64
        gram = parallel.all_sum((xc.T @ xc).double())
        cross = parallel.all_sum((xc.T @ yc).double())
        gram += ridge * gram.diagonal().mean() * torch.eye(gram.shape[0], dtype=gram.dtype)
        w = torch.linalg.solve(gram, cross).float()  # (d_in, d_out)
        ref = ffn.skip.weight
        ffn.skip.weight.copy_(w.T.to(ref.dtype))
        ffn.skip.bias.copy_((ym - xm @ w).to(ref.dtype))
        ffn.out_proj.weight.zero_()
        ffn.out_proj.bias.zero_()
        num, den = parallel.sum_floats(float(((xc @ w - yc) ** 2).sum()), float((yc**2).sum()))
        residual[layer] = num / max(den, 1e-12)
    return residual


def _optimizer(model: nn.Module, cfg: StageConfig) -> torch.optim.Optimizer:
    # Adam moves every weight by about lr per step whatever its gradient, which would throw
    # the least-squares skip (already at its optimum) far off; it gets a small step instead.
    skip, lora, rest = [], [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            if name.rpartition(".")[2] in LORA_PARAMS:
                lora.append(p)
            else:
                (skip if ".skip." in name else rest).append(p)
    groups = [{"params": rest, "lr": cfg.lr}]
    if skip:
        groups.append({"params": skip, "lr": cfg.lr * cfg.skip_lr_scale})
    if lora:
        groups.append({"params": lora, "lr": cfg.lora_lr})
    return torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)


def _trainable(model: nn.Module) -> list[nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def _batches(n: int, cfg: StageConfig, seed: int):
    """Global batches of ``batch_size × accumulate`` row indices out of ``n``: the same on every
    process of a data-parallel run (same seed), each process then keeps the rows it holds."""
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=g)
    size = min(cfg.batch_size * cfg.accumulate, n)
    cursor = 0
    for _ in range(cfg.steps):
        if cursor + size > n:
            order, cursor = torch.randperm(n, generator=g), 0
        yield order[cursor : cursor + size]
        cursor += size


# loss_fn(local_rows, step) -> (mean loss over those rows, {part: float}, tokens)
LossFn = Callable[[Tensor, int], tuple[Tensor, dict[str, float], int]]


def train_loop(name: str, model: nn.Module, cfg: StageConfig, loss_fn: LossFn, data: Shard,
               parts: list[str], seed: int, log: Log | None = None, progress: bool = True,
               checkpoint: Checkpointer | None = None, precision: str = "fp32") -> list[float]:
    """The one optimisation loop of every stage: global batches split into ``accumulate``
    micro-batches and, across processes, into shards (each loss weighted by its share of the
    batch, gradients summed), clipping, AdamW with warmup + cosine, checkpoints, progress and
    logs. Returns the loss per step (of the whole global batch)."""
    world = parallel.current()
    params = _trainable(model)
    device = params[0].device
    opt = _optimizer(model, cfg)
    budget = _Budget(cfg)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _cosine(s, cfg, budget.fraction))
    scaler = torch.amp.GradScaler(device.type) if precision == "fp16" else None
    start, losses = (checkpoint.start_of(name, model, opt, sched) if checkpoint else (0, []))
    model.train()
    started = time.perf_counter()
    tokens = 0.0
    # resumed: the data order is replayed (the same batches follow), the steps are not, and
    # the bar starts at the step reached
    batches = itertools.islice(_batches(data.n_total, cfg, seed), start, None)
    bar = tqdm(total=cfg.steps, desc=name, disable=not (progress and world.main), initial=start)
    for step, rows in enumerate(batches, start=start):
        if budget.spent():
            break
        opt.zero_grad(set_to_none=True)
        local = [0.0] * (len(parts) + 2)  # loss, parts..., tokens
        for micro in rows.split(cfg.batch_size):
            mine = data.local(micro)
            if len(mine) == 0:
                continue
            with autocast(precision, device):
                loss, values, ntok = loss_fn(mine, step)
            weight = len(mine) / len(rows)
            scaled = loss.float() * weight
            (scaler.scale(scaled) if scaler is not None else scaled).backward()
            local[0] += loss.item() * weight
            for i, key in enumerate(parts):
                local[i + 1] += values[key] * weight
            local[-1] += ntok
        totals = parallel.sum_floats(*local)
        parallel.sync_gradients(params)
        if scaler is not None:
            scaler.unscale_(opt)
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        if scaler is not None:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()
        sched.step()
        tokens += totals[-1]
        losses.append(totals[0])
        rate = tokens / max(time.perf_counter() - started, 1e-9)
        bar.update(1)
        bar.set_postfix(loss=f"{losses[-1]:.4f}", tok_s=f"{rate:.0f}")
        if log is not None and world.main:
            log(name, step, {"loss": losses[-1], **dict(zip(parts, totals[1:-1], strict=True)),
                             "tokens_per_s": rate, "lr": sched.get_last_lr()[0]})
        if checkpoint is not None and ((step + 1) % checkpoint.every == 0
                                       or step + 1 == cfg.steps):
            checkpoint.save(name, step + 1, model, opt, sched, losses)
    bar.close()
    model.eval()
    return losses


def _global_mean_std(t: Tensor) -> tuple[Tensor, Tensor]:
    """Per-channel mean and standard deviation of ``t`` (..., d) over every process's shard."""
    flat = t.reshape(-1, t.shape[-1]).double()
    stats = torch.cat([flat.sum(0), flat.pow(2).sum(0),
                       torch.tensor([flat.shape[0]], dtype=torch.float64)])
    stats = parallel.all_sum(stats)
    d = t.shape[-1]
    mean = stats[:d] / stats[-1]
    var = (stats[d : 2 * d] / stats[-1] - mean.pow(2)).clamp_min(0)
    return mean.float(), var.sqrt().float()


def stage1(model: nn.Module, acts: Activations, cfg: StageConfig, seed: int = 0,
           log: Log | None = None, progress: bool = True,
           checkpoint: Checkpointer | None = None, precision: str = "fp32") -> list[float]:
    """Each liquid block learns its MLP's output (per-channel normalised MSE), all at once."""
    blocks = _blocks_by_layer(model)
    scale = {i: _global_mean_std(acts.mlp_out[i])[1] + 1e-6 for i in blocks}
    device = next(model.parameters()).device

    def loss_fn(rows: Tensor, step: int):
        values = {}
        total = torch.zeros((), device=device)
        for layer, ffn in blocks.items():
            x = acts.mlp_in[layer][rows].to(device)
            y = acts.mlp_out[layer][rows].to(device)
            err = (ffn(x).float() - y) / scale[layer].to(device)
            mse = err.pow(2).mean()
            values[f"mse_layer{layer}"] = mse.item()
            total = total + mse
        return total / len(blocks), values, rows.numel() * acts.blocks.shape[1]

    parts = [f"mse_layer{layer}" for layer in blocks]
    return train_loop("stage 1", model, cfg, loss_fn, acts, parts, seed, log, progress,
                      checkpoint, precision)


@torch.no_grad()
def layer_errors(model: nn.Module, acts: Activations, batch_size: int = 8) -> dict[int, float]:
    """Relative MSE ‖block(x) − mlp(x)‖² / ‖mlp(x) − mean‖² per liquified layer on ``acts``."""
    errors = {}
    device = next(model.parameters()).device
    for layer, ffn in _blocks_by_layer(model).items():
        num = den = 0.0
        y_mean = _global_mean_std(acts.mlp_out[layer])[0].to(device)
        for lo in range(0, acts.blocks.shape[0], batch_size):
            x = acts.mlp_in[layer][lo : lo + batch_size].to(device)
            y = acts.mlp_out[layer][lo : lo + batch_size].to(device)
            num += (ffn(x) - y).pow(2).sum().item()
            den += (y - y_mean).pow(2).sum().item()
        num, den = parallel.sum_floats(num, den)
        errors[layer] = num / max(den, 1e-12)
    return errors


def logit_gram(model: nn.Module) -> Tensor:
    """G = Wcᵀ Wc / V for the unembedding W (V, d) with its mean row removed: for hidden
    states a, b, (a − b)ᵀ G (a − b) is the mean squared difference of their (centred) logits."""
    w = model.get_output_embeddings().weight.detach().double()
    wc = w - w.mean(0, keepdim=True)
    return (wc.T @ wc / w.shape[0]).float()


def _kl_positions(global_rows: Tensor, step: int, seed: int, T: int, k: int) -> Tensor:
    """``k`` positions (of the ``T - 1`` with a known next token) per row, drawn from a
    generator seeded by (seed, step, row): the same row gets the same positions in whichever
    process holds it, so a data-parallel run computes exactly the single-process loss."""
    out = torch.empty(len(global_rows), k, dtype=torch.long)
    for i, row in enumerate(global_rows.tolist()):
        g = torch.Generator().manual_seed(seed * 1_000_003 + step * 100_003 + row)
        out[i] = torch.randperm(T - 1, generator=g)[:k]
    return out


def stage2(model: nn.Module, acts: Activations, cfg: DistillConfig, log: Log | None = None,
           progress: bool = True, checkpoint: Checkpointer | None = None,
           local: Activations | None = None) -> list[float]:
    """End-to-end distillation from the cached stream into the first liquified block; with
    ``cfg.local_weight``, plus each block's error against its MLP on ``local`` (rows with
    per-MLP caches; default ``acts``)."""
    from .local import local_term

    device = next(model.parameters()).device
    near_mlp = local_term(model, local or acts) if cfg.local_weight > 0 else None
    gram = logit_gram(model).to(device)
    head = model.get_output_embeddings()
    first = acts.first_layer
    T = acts.blocks.shape[1]
    # per row, so that every row of a global batch weighs the same in whichever process
    per_row = min(max(1, cfg.kl_positions // (cfg.stage2.batch_size * cfg.stage2.accumulate)),
                  T - 1)

    def loss_fn(rows: Tensor, step: int):
        ids = acts.blocks[rows].to(device)
        teacher = acts.final[rows].to(device)
        student = final_hidden(model, first, acts.start[rows].to(device), ids).float()
        diff = (student - teacher).reshape(-1, teacher.shape[-1])
        logit_mse = ((diff @ gram) * diff).sum(-1).mean()
        # KL and LM loss where the next token is known, at a few positions per row
        t = _kl_positions(acts.rows[rows], step, cfg.seed, T, per_row).to(device)
        b = torch.arange(len(rows), device=device)[:, None].expand_as(t)
        s_logits = head(student[b, t]).float().reshape(-1, head.weight.shape[0])
        t_logits = head(teacher[b, t]).float().reshape(-1, head.weight.shape[0])
        kl = nn.functional.kl_div(s_logits.log_softmax(-1), t_logits.log_softmax(-1),
                                  log_target=True, reduction="batchmean")
        lm = nn.functional.cross_entropy(s_logits, ids[b, t + 1].reshape(-1))
        loss = logit_mse + cfg.kl_weight * kl + cfg.lm_weight * lm
        values = {"logit_mse": logit_mse.item(), "kl": kl.item(), "lm": lm.item(), "local": 0.0}
        if near_mlp is not None:
            term, values["local"] = near_mlp(acts.rows[rows])
            loss = loss + cfg.local_weight * term
        return loss, values, rows.numel() * T

    return train_loop("stage 2", model, cfg.stage2, loss_fn, acts,
                      ["logit_mse", "kl", "lm", "local"], cfg.seed + 2, log, progress,
                      checkpoint, cfg.precision)
