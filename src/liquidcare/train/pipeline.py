"""The main job: liquify a base model, distil its MLPs into the liquid blocks, measure, report.

    base ─► teacher pass (cache activations) ─► liquify ─► least squares ─► stage 1 ─► stage 2
         ─► perplexity after each step ─► runs/NAME/{adapter/, report.md, loss.png, tb/}

With ``mode: finetune`` there is no teacher: the liquified model (or an existing adapter,
``adapter: runs/NAME``) trains on the corpus with the LM loss alone, the research's TinyStories /
yelp runs. Under ``torchrun`` every process trains on its shard of the data (see `parallel`); the
main process prints, checkpoints and writes the run folder.

`RunConfig` is what a YAML file under `configs/` holds; every field has a default that runs on
a laptop CPU with the embedded SmolLM2 and the bundled care corpus.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from liquidcare.surgery import (
    LiquidConfigError,
    liquid_blocks,
    preset,
    save_liquid,
    trainable_summary,
)
from liquidcare.surgery.liquify import liquify

from . import parallel
from .activations import Shard, capture
from .checkpoint import Checkpointer
from .corpus import corpus_blocks
from .distill import (
    DistillConfig,
    StageConfig,
    init_least_squares,
    layer_errors,
    stage1,
    stage2,
)
from .evaluation import evaluate
from .finetune import finetune, lm_perplexity
from .heldout import capture_held_out, held_out_blocks, score_cached, score_full
from .precision import resolve_precision
from .report import plot_losses, write_report
from .runlog import PhaseClock, sample_replies, tensorboard_writer
from .teacher_text import merge_blocks, more_teacher_blocks

SAMPLE_PROMPTS = [
    ("en", "My mother forgets to drink water during the day. What can I do?"),
    ("es", "Mi padre se ha caído esta mañana pero dice que está bien. ¿Qué debo vigilar?"),
]


MODES = {"distill", "finetune"}
MLP_CACHE_TOKENS = 65_536  # least squares reads this many tokens (`init_least_squares`)

# `liquidcare demo --full` (configs/cfc-ncp-smollm2-full.yaml holds the same): twice the MLPs
# of the demo, and the teacher speaking on more than the care corpus — the knowledge base's
# articles and text sampled from the base model itself — so that the blocks learn the MLPs,
# not the corpus's sentences. Too long for the 15-minute demo; see the README for its figures.
FULL_RECIPE: dict[str, Any] = {
    "layers": "last:12",
    "max_train_tokens": None,
    "extra_corpora": ["knowledge-base"],
    "self_samples": 16_000,
    "stage2": {"steps": 1200, "lr": 3e-2, "skip_lr_scale": 1.0},
    "local_weight": 1.0,
    "eval_every": 200,
}


@dataclass
class RunConfig:
    name: str = "demo"
    mode: str = "distill"  # distill | finetune
    base: str = "smollm2"
    adapter: str | None = None  # finetune: start from this adapter (or run folder) instead
    preset: str = "cfc-ncp"
    layers: str | list[int] = "last:6"
    liquid: dict[str, Any] = field(default_factory=lambda: {"linear_skip": True})
    corpus: str = "care"
    block_size: int = 128
    max_train_tokens: int | None = 60_000
    max_val_tokens: int | None = 8_000
    least_squares: bool = True
    # Stage 1 is off by default: on the care corpus at equal wall-clock, the time is better spent
    # on stage 2 (see configs/cfc-ncp-smollm2.yaml for the figures).
    stage1: dict[str, Any] = field(default_factory=lambda: {"steps": 0, "lr": 2e-2})
    # In stage 2 the least-squares skip moves at the full rate (measured: ×1.36 the base
    # perplexity against ×1.48 at 0.2 of the rate), and the rate is high: swept from 0.002 to
    # 0.04 at equal time, 0.03 was best (×1.13 against ×1.55 at 0.002).
    stage2: dict[str, Any] = field(
        default_factory=lambda: {"steps": 1000, "lr": 3e-2, "skip_lr_scale": 1.0})
    # mode finetune: the one training stage (LM loss on the corpus)
    finetune: dict[str, Any] = field(default_factory=lambda: {"steps": 200, "lr": 1e-3})
    # More text for the teacher (see `teacher_text`): extra corpora ("knowledge-base": the
    # shipped care articles; corpus specs, .jsonl/.txt files, folders of .jsonl) and about this
    # many new tokens sampled from the base model (each sample also carries its prompt: 16k new
    # tokens made 32k in all). Stage 2 trains on all of it; least squares and stage 1 on
    # `corpus` alone.
    extra_corpora: list[str] = field(default_factory=list)
    self_samples: int = 0
    # Scored at the end, base and trained model in the same run (see `heldout`): the corpus's
    # test split ("auto": the care corpus's held-out test split, none for other corpora; or a
    # split name; None) and out-of-domain prose (a corpus spec, or None).
    test_split: str | None = "auto"
    ood_corpus: str | None = "general-dev"
    max_test_tokens: int | None = None
    # stage 2 / fine-tuning: validation perplexity every this many steps (0: only at the end),
    # the curve that says whether more steps would help
    eval_every: int = 0
    kl_positions: int = 64
    kl_weight: float = 1.0
    lm_weight: float = 0.1
    # stage 2: + this × each block's normalised MSE against its MLP on the corpus's cached MLP
    # activations (see `local`): keeps the blocks doing what the MLPs did
    local_weight: float = 0.0
    checkpoint_every: int = 50
    samples: int = 2
    sample_tokens: int = 40
    output_dir: str = "runs"
    device: str = "auto"
    # auto: bf16 autocast on a CUDA device that has it, else fp32 | fp32 | bf16 | fp16 (CUDA)
    precision: str = "auto"
    seed: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise LiquidConfigError(f"unknown run config key(s) {unknown}; known: {sorted(known)}")
        for key in ("stage1", "stage2", "finetune"):
            stage_keys = {f.name for f in dataclasses.fields(StageConfig)}
            bad = sorted(set(data.get(key) or {}) - stage_keys)
            if bad:
                raise LiquidConfigError(f"unknown {key} key(s) {bad}; known: {sorted(stage_keys)}")
        if data.get("mode", "distill") not in MODES:
            raise LiquidConfigError(f"mode {data['mode']!r}: use one of {sorted(MODES)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def resolved(self) -> dict[str, Any]:
        """`to_dict` with every stage's settings filled in (a stage's unset keys are its
        defaults): what the run actually trains with, as a checkpoint records it."""
        data = self.to_dict()
        for key in ("stage1", "stage2", "finetune"):
            data[key] = dataclasses.asdict(StageConfig(**data[key]))
        return data

    def distill_config(self, precision: str = "fp32") -> DistillConfig:
        return DistillConfig(
            stage1=StageConfig(**self.stage1), stage2=StageConfig(**self.stage2),
            least_squares=self.least_squares, kl_positions=self.kl_positions,
            kl_weight=self.kl_weight, lm_weight=self.lm_weight,
            local_weight=self.local_weight, seed=self.seed,
            precision=precision,
        )


def run(config: RunConfig, progress: bool = True, resume: bool = False) -> dict[str, Any]:
    """Run the whole job; returns the summary that the report was written from.

    The training state is checkpointed to runs/NAME/checkpoint.pt every ``checkpoint_every``
    steps; with ``resume`` a killed run continues from there (the teacher pass, which is cached
    in memory only, is recomputed first). A resume with no checkpoint, a damaged one, or one
    written with another config stops at once with a `CheckpointError` (see `checkpoint`)."""
    from liquidcare.models import load_base

    world = parallel.init()
    show = progress and world.main
    torch.manual_seed(config.seed)
    liquid_cfg = preset(config.preset, layers=config.layers, **config.liquid)
    run_dir = Path(config.output_dir) / config.name
    # a resume checks its checkpoint (there, whole, from this config) before minutes of work
    ckpt = Checkpointer(run_dir / "checkpoint.pt", config.checkpoint_every, resume=resume,
                        config=config.resolved(), defaults=RunConfig().resolved())
    if world.main:
        run_dir.mkdir(parents=True, exist_ok=True)
    clock = PhaseClock(config.name, show)

    if config.mode == "finetune" and config.adapter:
        from liquidcare.surgery import load_model

        model, tokenizer = load_model(config.adapter, device=config.device)
        liquid_cfg = model.liquid_info.config
    else:
        model, tokenizer = load_base(config.base, device=config.device)
    device = next(model.parameters()).device
    precision = resolve_precision(config.precision, device)
    train_blocks = corpus_blocks(config.corpus, "train", tokenizer, config.block_size,
                           config.max_train_tokens)
    val_blocks = corpus_blocks(config.corpus, "validation", tokenizer, config.block_size,
                         config.max_val_tokens)
    held_sets = held_out_blocks(config, tokenizer)
    clock.lap("load model and corpus")
    prompts = SAMPLE_PROMPTS[: config.samples]
    writer = tensorboard_writer(run_dir) if world.main else None

    def log(stage: str, step: int, values: dict[str, float]) -> None:
        if writer is not None:
            for key, value in values.items():
                writer.add_scalar(f"{stage}/{key}", value, step)

    if config.mode == "finetune":
        result = _finetune(config, model, tokenizer, liquid_cfg, train_blocks, val_blocks,
                           held_sets, prompts, world, show, precision, log, ckpt, clock)
    else:
        result = _distill(config, model, tokenizer, liquid_cfg, train_blocks, val_blocks,
                          held_sets, prompts, world, show, precision, log, ckpt, clock)
    if writer is not None:
        writer.close()
    model, evaluations, errors, losses, params, base_samples, held, stage_tokens = result

    if world.main:
        save_liquid(model, run_dir / "adapter")
    liquid_samples = (sample_replies(model, tokenizer, prompts, config.sample_tokens)
                      if world.main else [])
    clock.lap("save and samples")
    summary = {
        "name": config.name, "mode": config.mode, "base": model.liquid_info.base_model,
        "preset": config.preset, "layers": liquid_cfg.layers, "liquid": liquid_cfg.to_dict(),
        "corpus": config.corpus, "train_tokens": train_blocks.numel(),
        "stage2_tokens": stage_tokens,
        "val_tokens": val_blocks.numel(), "block_size": config.block_size,
        "trainable": params.trainable, "total": params.total, "device": str(device),
        "processes": world.size, "precision": precision,
        "evaluations": evaluations, "held_out": held, "layer_errors": errors,
        "timings": clock.timings, "losses": losses, "config": config.to_dict(),
        "samples": [{"prompt": p[1], "base": b, "liquid": q}
                    for p, b, q in zip(prompts, base_samples, liquid_samples, strict=False)],
    }
    if world.main:
        if losses:
            plot_losses(losses, run_dir / "loss.png")
        write_report(run_dir, summary)
    parallel.barrier()
    return summary


def _distill(config, model, tokenizer, liquid_cfg, train_blocks, val_blocks, held_sets, prompts,
             world, show, precision, log, ckpt, clock):
    distill_cfg = config.distill_config(precision)
    base_samples = (sample_replies(model, tokenizer, prompts, config.sample_tokens)
                    if world.main else [])
    more = more_teacher_blocks(config, model, tokenizer, show)
    n_corpus = train_blocks.shape[0]
    if more is not None:
        clock.lap("more teacher text")
        train_blocks = merge_blocks([train_blocks, more])
    # per-MLP caches for the corpus's rows only (least squares, stage 1, the local term), and
    # with extra text at most MLP_CACHE_TOKENS of them (two tensors per layer: 12 layers of
    # 83k tokens are 4.6 GB); stage 2 reads every row
    if more is not None:
        n_corpus = min(n_corpus, max(MLP_CACHE_TOKENS // train_blocks.shape[1], 1))
    train = capture(model, train_blocks, liquid_cfg, progress=show, world=world,
                    mlp_rows=n_corpus)
    corpus_acts = train.head(n_corpus) if more is not None else train
    val = capture(model, val_blocks, liquid_cfg, progress=show, world=world)
    held_acts = capture_held_out(model, held_sets, liquid_cfg, world, show)
    held = [{"label": "base model", "ppl": score_cached(model, held_acts, teacher=True)}]
    clock.lap("teacher pass")

    evaluations = [{"label": "base model", **evaluate(model, val, teacher=True)}]
    model = liquify(model, liquid_cfg)  # in place: the teacher's outputs are all cached
    # each process drew its own random init: all start from the main process's
    parallel.broadcast_parameters([p for p in model.parameters() if p.requires_grad])
    params = trainable_summary(model, verbose=show)
    evaluations.append({"label": "after surgery", **evaluate(model, val)})
    errors = []
    losses: dict[str, list[float]] = {}
    if config.least_squares and liquid_cfg.linear_skip:
        init_least_squares(model, corpus_acts)
        evaluations.append({"label": "after least-squares init", **evaluate(model, val)})
        errors.append({"label": "least squares", "errors": layer_errors(model, val)})
    clock.lap("surgery and initialisation")

    if distill_cfg.stage1.steps > 0:
        losses["stage 1: MLP matching"] = stage1(model, corpus_acts, distill_cfg.stage1,
                                                 seed=config.seed, log=log, progress=show,
                                                 checkpoint=ckpt, precision=precision)
        evaluations.append({"label": "after stage 1", **evaluate(model, val)})
        errors.append({"label": "stage 1", "errors": layer_errors(model, val)})
        clock.lap("stage 1")
    if distill_cfg.stage2.steps > 0:
        log = _with_curve(log, "stage 2", config.eval_every, lambda: evaluate(model, val),
                          evaluations, show)
        losses["stage 2: end to end"] = stage2(model, train, distill_cfg, log=log,
                                               progress=show, checkpoint=ckpt,
                                               local=corpus_acts)
        evaluations.append({"label": "after stage 2", **evaluate(model, val)})
        errors.append({"label": "stage 2", "errors": layer_errors(model, val)})
        clock.lap("stage 2")
    if held_acts:
        held.append({"label": f"liquid ({len(liquid_blocks(model))} MLPs)",
                     "ppl": score_cached(model, held_acts)})
        clock.lap("held-out evaluation")
    return (model, evaluations, errors, losses, params, base_samples, held,
            train.n_total * train.blocks.shape[1])


def _with_curve(log, stage: str, every: int, score, evaluations: list, show: bool):
    """``log`` that also scores validation every ``every`` steps of ``stage``: a row of
    ``evaluations`` ("stage 2, step N"), printed, and ``stage/val_ppl`` in TensorBoard."""
    if every <= 0:
        return log
    if parallel.current().size > 1:
        raise LiquidConfigError("eval_every runs on the main process alone: use it with one "
                                "process (its score would wait for the others)")

    def logged(name: str, step: int, values: dict[str, float]) -> None:
        if name == stage and (step + 1) % every == 0:
            row = {"label": f"{stage}, step {step + 1}", **score()}
            evaluations.append(row)
            values = {**values, "val_ppl": row["ppl"]}
            if show:
                print(f"\n[{stage}] step {step + 1}: validation perplexity {row['ppl']:.2f} "
                      f"({row['ppl'] / evaluations[0]['ppl']:.3f} x base)", flush=True)
        log(name, step, values)

    return logged


def _finetune(config, model, tokenizer, liquid_cfg, train_blocks, val_blocks, held_sets,
              prompts, world, show, precision, log, ckpt, clock):
    from liquidcare.surgery import is_liquified

    train, val = Shard.of(train_blocks, world), Shard.of(val_blocks, world)
    evaluations = []
    base_samples: list[str] = []
    held = []
    if not is_liquified(model):
        base_samples = (sample_replies(model, tokenizer, prompts, config.sample_tokens)
                        if world.main else [])
        evaluations.append({"label": "base model", **lm_perplexity(model, val,
                                                                    precision=precision)})
        if held_sets:
            held.append({"label": "base model",
                         "ppl": score_full(model, held_sets, world, precision)})
        model = liquify(model, liquid_cfg)
        parallel.broadcast_parameters([p for p in model.parameters() if p.requires_grad])
        label = "after surgery"
    else:
        label = f"adapter {config.adapter}"
    params = trainable_summary(model, verbose=show)
    evaluations.append({"label": label, **lm_perplexity(model, val, precision=precision)})
    clock.lap("surgery")
    cfg = StageConfig(**config.finetune)
    losses = {"fine-tune: LM loss": finetune(model, train, cfg, seed=config.seed + 2, log=log,
                                             progress=show, checkpoint=ckpt,
                                             precision=precision)}
    evaluations.append({"label": "after fine-tuning",
                        **lm_perplexity(model, val, precision=precision)})
    clock.lap("fine-tune")
    if held_sets:
        held.append({"label": "after fine-tuning",
                     "ppl": score_full(model, held_sets, world, precision)})
    return (model, evaluations, [], losses, params, base_samples, held,
            train.n_total * train.blocks.shape[1])
