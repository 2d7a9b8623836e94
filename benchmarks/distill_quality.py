"""Distillation quality against the standard alternative, on text no row trained or tuned on.

    python benchmarks/distill_quality.py                                # last 6 MLPs, CfC-NCP
    python benchmarks/distill_quality.py --layers last:12 --budget 900 --presets cfc-fc
    python benchmarks/distill_quality.py --layers all --presets cfc-fc,ltc-fc,scan-fc --no-lora
    python benchmarks/distill_quality.py --attn-lora 0,8 --no-lora   # liquid, liquid + attn LoRA

One teacher pass over the bundled care corpus captures what every replaced MLP saw and gave (train,
validation), and the stream and final hidden state of the held-out sets (the care **test** split,
which shares no word 8-gram with train, and the out-of-domain prose ``general-dev``). Then, in the
same run, one row each:

- **base**: the model as it is;
- **LoRA**: PEFT LoRA on the attention and MLP projections of the same layers, its rank chosen so
  that it trains about as many parameters as the liquid blocks, trained on the same tokens with
  the same objective (stage 2: logit MSE + KL to the base + LM loss) for the same wall-clock;
- **liquid** (one row per preset): the MLPs replaced by liquid blocks (linear skip set by least
  squares), then stage 2 for the same wall-clock; with ``--attn-lora R`` (``0,8``: a row each)
  the same blocks plus a rank-R LoRA on the attention projections of the liquified layers
  (``LiquidConfig.attention_lora``, alpha 2R, learning at ``--attn-lora-lr``), trained with them
  (LoLCATs' idea: the LoRA absorbs the error the blocks leave); its row is marked ``+attn LoRA``.
  The PEFT row matches the first liquid row's trainable count.

Every figure is a perplexity and its ratio to the base model's on the same set. The budget is
wall-clock seconds: run on an otherwise idle machine and say the load (``uptime``). Learning
rates are chosen on validation (``--lr``, ``--lora-lr``), never on test.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from types import SimpleNamespace

import torch

from liquidcare.atomic import write_json
from liquidcare.models import load_base
from liquidcare.surgery import liquify, preset
from liquidcare.train import capture, evaluate, init_least_squares
from liquidcare.train.corpus import corpus_blocks
from liquidcare.train.distill import DistillConfig, StageConfig, stage2
from liquidcare.train.heldout import OOD_LABEL, TEST_LABEL
from liquidcare.train.teacher_text import merge_blocks, more_teacher_blocks

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def _trainable(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def lora_model(base: torch.nn.Module, layers: list[int], params: int, targets: list[str]):
    """``base`` with LoRA adapters (PEFT) on ``targets`` of decoder ``layers``, at the rank whose
    trainable count is closest to ``params``. Returns the inner model (adapters injected in place,
    so the cached-stream code runs it like any other) and the rank."""
    from peft import LoraConfig, get_peft_model

    per_rank = 0  # a rank-r adapter on an (in → out) Linear trains r × (in + out) weights
    for name, module in base.named_modules():
        parts = name.split(".")
        if isinstance(module, torch.nn.Linear) and parts[-1] in targets and \
                any(p.isdigit() and int(p) in layers for p in parts):
            per_rank += module.in_features + module.out_features
    if per_rank == 0:
        raise ValueError(f"no {targets} Linear modules found in layers {layers}")
    rank = max(1, round(params / per_rank))
    cfg = LoraConfig(r=rank, lora_alpha=rank, lora_dropout=0.0, target_modules=targets,
                     layers_to_transform=layers, bias="none")
    get_peft_model(base, cfg)
    return base, rank


def _scores(model, sets: dict, teacher: bool = False) -> dict[str, float]:
    return {name: evaluate(model, acts, teacher=teacher)["ppl"] for name, acts in sets.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="smollm2")
    parser.add_argument("--presets", default="cfc-ncp",
                        help="comma-separated liquid presets (default: %(default)s)")
    parser.add_argument("--layers", default="last:6", help="which MLPs to replace")
    parser.add_argument("--budget", type=float, default=300.0,
                        help="seconds of stage 2 per row, LoRA included (default: %(default)s)")
    parser.add_argument("--train-tokens", type=int, default=60_000)
    parser.add_argument("--val-tokens", type=int, default=8_192)
    parser.add_argument("--test-tokens", type=int, default=None, help="default: all of them")
    parser.add_argument("--block-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=4)
    # 0.03 won the demo's sweep (last 6 layers, CfC-NCP); with all 30 layers and ~70 steps 0.002
    # did better (RESULTS-distill-quality-cpu.txt). Choose it on validation.
    parser.add_argument("--lr", type=float, default=3e-2)
    parser.add_argument("--lora-lr", type=float, default=1e-3)
    parser.add_argument("--no-lora", action="store_true", help="skip the LoRA row")
    parser.add_argument("--attn-lora", default="0",
                        help="liquid rows: rank of a LoRA on the liquified layers' attention "
                             "(0: none; comma-separated: one row each, e.g. 0,8)")
    parser.add_argument("--attn-lora-lr", type=float, default=1e-3,
                        help="learning rate of that LoRA (default: %(default)s)")
    parser.add_argument("--extra", default="",
                        help="comma-separated extra teacher corpora, e.g. knowledge-base")
    parser.add_argument("--self-samples", type=int, default=0,
                        help="tokens of text sampled from the base model as teacher text")
    parser.add_argument("--lm-weight", type=float, default=0.1)
    parser.add_argument("--local-weight", type=float, default=0.0,
                        help="liquid rows: + this x each block's error against its MLP")
    parser.add_argument("--mlp-tokens", type=int, default=65_536,
                        help="tokens whose per-MLP caches are kept (least squares reads these)")
    parser.add_argument("--units", type=int, default=None,
                        help="liquid neurons per block (default: the preset's)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    parser.add_argument("--progress", action="store_true", help="show stage 2's progress bar")
    args = parser.parse_args(argv)
    try:
        attn_ranks = [int(r) for r in args.attn_lora.split(",")]
    except ValueError:
        parser.error(f"--attn-lora {args.attn_lora!r}: expected ranks such as 0 or 0,8")
    if not attn_ranks or any(r < 0 for r in attn_ranks):
        parser.error(f"--attn-lora {args.attn_lora!r}: ranks must be 0 (none) or positive")

    torch.manual_seed(0)
    base, tokenizer = load_base(args.base, device=args.device)
    blocks = {
        "train": corpus_blocks("care", "train", tokenizer, args.block_size, args.train_tokens),
        "validation": corpus_blocks("care", "validation", tokenizer, args.block_size,
                                    args.val_tokens),
        TEST_LABEL: corpus_blocks("care", "test", tokenizer, args.block_size, args.test_tokens),
        OOD_LABEL: corpus_blocks("general-dev", "validation", tokenizer, args.block_size),
    }
    presets = args.presets.split(",")
    first = preset(presets[0], layers=args.layers, linear_skip=True)
    t0 = time.perf_counter()
    # the same extra teacher text for every row, decontaminated against every scored set
    more = more_teacher_blocks(SimpleNamespace(
        extra_corpora=[e for e in args.extra.split(",") if e], self_samples=args.self_samples,
        corpus="care", ood_corpus="general-dev", seed=0, block_size=args.block_size),
        base, tokenizer)
    n_care = blocks["train"].shape[0]
    if more is not None:
        blocks["train"] = merge_blocks([blocks["train"], more])
    # the captured activations depend only on which layers are replaced, not on the cell
    mlp_rows = min(n_care, max(args.mlp_tokens // args.block_size, 1))
    train = capture(base, blocks["train"], first, progress=args.progress, mlp_rows=mlp_rows)
    evals = {name: capture(base, b, first, progress=args.progress, mlp_rows=0)
             for name, b in blocks.items() if name != "train"}
    teacher_s = time.perf_counter() - t0
    base_ppl = _scores(base, evals, teacher=True)
    del base

    load = os.getloadavg()
    print(f"base {args.base}; layers {args.layers}; {train.tokens} training tokens "
          f"({n_care * args.block_size} of the care corpus); "
          + ", ".join(f"{n} {a.tokens} tokens" for n, a in evals.items())
          + f"; teacher pass {teacher_s:.0f} s; {args.budget:.0f} s of stage 2 per row; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads; load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the start", flush=True)
    names = list(evals)
    print(f"{'row':40s} {'trainable':>10s} {'steps':>6s} {'wall s':>7s} "
          + " ".join(f"{n[:13]:>13s} {'x':>6s}" for n in names), flush=True)

    def show(r: dict) -> None:
        print(f"{r['row']:40s} {r['trainable']:10,d} {r['steps']:6d} {r['wall_s']:7.1f} "
              + " ".join(f"{r['ppl'][n]:13.2f} {r['ratio'][n]:6.3f}" for n in names),
              flush=True)

    rows = [{"row": f"base {args.base}", "trainable": 0, "steps": 0, "wall_s": 0.0,
             "ppl": base_ppl, "ratio": dict.fromkeys(names, 1.0)}]
    show(rows[0])

    def train_row(label: str, model, lr: float, extra: dict, local: float = 0.0) -> None:
        stage = StageConfig(steps=1_000_000, lr=lr, batch_size=args.batch_size, warmup=10,
                            skip_lr_scale=1.0, budget_s=args.budget, clock="wall",
                            lora_lr=args.attn_lora_lr)
        started = time.perf_counter()
        cfg = DistillConfig(stage2=stage, lm_weight=args.lm_weight, local_weight=local)
        losses = stage2(model, train, cfg, progress=args.progress, local=train.head(mlp_rows))
        wall = time.perf_counter() - started
        ppl = _scores(model, evals)
        r = {"row": label, "trainable": _trainable(model), "steps": len(losses),
             "wall_s": round(wall, 1), "ppl": ppl,
             "ratio": {n: ppl[n] / base_ppl[n] for n in names}, **extra}
        rows.append(r)
        show(r)  # each row as soon as it is measured: a run stopped half-way keeps what it did

    liquid_params = None
    for name, rank in ((n, r) for n in presets for r in attn_ranks):
        torch.manual_seed(0)
        options = {"linear_skip": True, **({"units": args.units} if args.units else {})}
        if rank:
            options["attention_lora"] = {"r": rank, "alpha": 2 * rank}
        cfg = preset(name, layers=args.layers, **options)
        model, _ = load_base(args.base, device=args.device)
        model = liquify(model, cfg)
        init_least_squares(model, train)  # the LoRA's B is zero: it starts as the plain row
        ls = _scores(model, {"validation": evals["validation"]})["validation"]
        liquid_params = liquid_params or _trainable(model)
        mark = f" +attn LoRA r={rank}" if rank else ""
        train_row(f"liquid {name} ({len(model.liquid_info.targets)} MLPs){mark}", model, args.lr,
                  {"preset": name, "units": cfg.units, "ppl_least_squares_val": ls,
                   "attn_lora_rank": rank, "attn_lora_lr": args.attn_lora_lr if rank else None},
                  local=args.local_weight)
        del model

    if not args.no_lora and liquid_params:
        torch.manual_seed(0)
        model, _ = load_base(args.base, device=args.device)
        layers = sorted(train.layers)
        model, rank = lora_model(model, layers, liquid_params, LORA_TARGETS)
        train_row(f"LoRA r={rank} (layers {layers[0]}-{layers[-1]})", model, args.lora_lr,
                  {"rank": rank, "targets": LORA_TARGETS})
        del model

    if args.json:
        write_json(args.json, {"base_ppl": base_ppl, "args": vars(args), "rows": rows,
                               "load_start": load, "load_end": os.getloadavg()})
    end = os.getloadavg()
    print(f"load average at the end {end[0]:.2f} {end[1]:.2f} {end[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
