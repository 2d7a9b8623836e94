"""A bad centre against the federation: global perplexity with one malicious centre, per defence.

    python benchmarks/federated_robust.py --tiny                 # the test suite's tiny world
    python benchmarks/federated_robust.py --clients 5 --rounds 3  # SmolLM2 on the care corpus

One centre (the last) trains as usual and then answers with its update scaled by ``--scale``
(50) and sign-flipped (`liquidcare.federated.attack`). For each defence — the mean (FedAvg), the
mean after update-norm clipping to the round's median norm, Flower's FedMedian, FedTrimmedAvg,
Krum, MultiKrum and Bulyan (each with and without clipping where it differs) — the same
federation runs twice from the same start: every centre honest, then with the attacker. The
reference is the honest FedAvg run. Reported per defence: the pooled validation perplexity of
the global adapter (every centre's validation text, the attacker's included) honest and
attacked, each as a ratio to the reference (target: attacked ≤ 1.05 with a robust defence), and
how far the attacked global adapter ends from the reference one, relative to how far the
reference moved from the start (``‖w − w_ref‖ / ‖w_ref − w_0‖``).
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import time
from pathlib import Path

import torch

from liquidcare.atomic import write_json

# (label, aggregation, update-clip)
DEFENCES = [
    ("fedavg", "mean", "none"),
    ("fedavg + median clip", "mean", "median"),
    ("fedmedian", "median", "none"),
    ("fedmedian + median clip", "median", "median"),
    ("fedtrimmedavg", "trimmed-mean", "none"),
    ("fedtrimmedavg + median clip", "trimmed-mean", "median"),
    ("krum", "krum", "none"),
    ("multi-krum", "multi-krum", "none"),
    ("bulyan", "bulyan", "none"),
]


def tiny_world(root: Path) -> dict[str, str]:
    """The test suite's tiny Llama and two-language counting corpus (tests/federated_helpers):
    seconds a run instead of minutes, the same code path."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from federated_helpers import tiny_world as build

    world = build(root)
    return {"model": str(world["model"]), "corpus": str(world["corpus"])}


def _flat(tensors: dict[str, torch.Tensor]) -> torch.Tensor:
    return torch.cat([tensors[k].double().reshape(-1) for k in sorted(tensors)])


def _adapter(out: Path) -> torch.Tensor:
    from safetensors.torch import load_file

    return _flat(load_file(str(out / "adapter" / "liquid_model.safetensors")))


def run_one(base: dict, out: Path, clients: int, attacker: int | None, scale: float) -> dict:
    from liquidcare.federated import FedConfig, simulate
    from liquidcare.federated.attack import sign_flip_mod

    shutil.rmtree(out, ignore_errors=True)
    cfg = FedConfig(**{**base, "out": str(out)})
    mods = [sign_flip_mod(attacker, scale)] if attacker is not None else None
    started = time.perf_counter()
    state = simulate(cfg, clients, mods=mods)
    rounds = state["rounds"]
    return {"ppl": rounds[str(cfg.rounds)]["global_val_ppl"], "start_ppl":
            rounds["0"]["global_val_ppl"], "seconds": time.perf_counter() - started,
            "adapter": _adapter(out)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true",
                        help="the tiny Llama and corpus of the test suite (fast)")
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--corpus", default="care")
    parser.add_argument("--layers", default=None, help="default last:1 tiny, last:6 else")
    parser.add_argument("--units", type=int, default=None, help="default 16 tiny, preset's else")
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--local-steps", type=int, default=None, help="default 10 tiny, 3 else")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--lr", type=float, default=None, help="default 1e-2 tiny, 1e-3 else")
    parser.add_argument("--scale", type=float, default=50.0,
                        help="the attacker's factor on its flipped update (default 50)")
    parser.add_argument("--only", default=None,
                        help="comma-separated defence labels to run (default: all that fit)")
    parser.add_argument("--out", default="runs/bench-federated-robust")
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args(argv)

    root = Path(args.out)
    root.mkdir(parents=True, exist_ok=True)
    if args.tiny:
        world = tiny_world(root / "world")
        base = dict(model=world["model"], corpus=world["corpus"], layers=args.layers or "last:1",
                    units=args.units or 16, block_size=32, local_steps=args.local_steps or 10,
                    lr=args.lr or 1e-2, batch_size=args.batch_size or 4)
    else:
        base = dict(model=args.model, corpus=args.corpus, layers=args.layers or "last:6",
                    units=args.units or 0, local_steps=args.local_steps or 3,
                    lr=args.lr or 1e-3, batch_size=args.batch_size or 2,
                    max_train_tokens=2048, max_val_tokens=1024)
    base.update(rounds=args.rounds, min_clients=args.clients, assumed_malicious=1)
    attacker = args.clients - 1

    from liquidcare.federated import FedConfig
    from liquidcare.federated.centre import build_model, initial_liquid_state
    from liquidcare.federated.robust import minimum_centres

    start = FedConfig(**base)
    build_model(start)
    w0 = _flat(initial_liquid_state(start))
    wanted = set(args.only.split(",")) if args.only else None
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; model "
          f"{'tiny Llama' if args.tiny else args.model}, {args.clients} centres "
          f"(centre {attacker} sends -{args.scale:g} x its update), {args.rounds} rounds x "
          f"{base['local_steps']} local steps", flush=True)

    reference = run_one({**base, "aggregation": "mean", "update_clip": "none"},
                        root / "fedavg-honest", args.clients, None, args.scale)
    ref_ppl, ref_w = reference["ppl"], reference["adapter"]
    moved = float((ref_w - w0).norm())
    print(f"start {reference['start_ppl']:.3f}; honest FedAvg {ref_ppl:.3f} "
          f"(moved {moved:.4f} from the start)\n", flush=True)
    header = (f"{'defence':30s} {'honest ppl':>10s} {'x ref':>7s} {'attacked ppl':>12s} "
              f"{'x ref':>8s} {'distance':>9s}  target attacked <= 1.05 x ref")
    print(header, flush=True)
    rows = []
    for label, aggregation, clip in DEFENCES:
        if wanted is not None and label not in wanted:
            continue
        cfg = {**base, "aggregation": aggregation, "update_clip": clip}
        need = minimum_centres(FedConfig(**cfg))
        if args.clients < need:
            print(f"{label:30s} needs >= {need} centres; skipped", flush=True)
            continue
        name = label.replace(" + ", "-").replace(" ", "-")
        honest = (reference if (aggregation, clip) == ("mean", "none")
                  else run_one(cfg, root / f"{name}-honest", args.clients, None, args.scale))
        attacked = run_one(cfg, root / f"{name}-attacked", args.clients, attacker, args.scale)
        distance = float((attacked["adapter"] - ref_w).norm()) / max(moved, 1e-12)
        row = {"defence": label, "aggregation": aggregation, "update_clip": clip,
               "honest_ppl": honest["ppl"], "attacked_ppl": attacked["ppl"],
               "honest_ratio": honest["ppl"] / ref_ppl, "attacked_ratio": attacked["ppl"] / ref_ppl,
               "distance": distance, "seconds": honest["seconds"] + attacked["seconds"]}
        rows.append(row)
        ok = "met" if row["attacked_ratio"] <= 1.05 else "MISSED"
        attacked_ppl = (f"{row['attacked_ppl']:12.3f}" if math.isfinite(row["attacked_ppl"])
                        and row["attacked_ppl"] < 1e6 else f"{row['attacked_ppl']:12.3g}")
        print(f"{label:30s} {row['honest_ppl']:10.3f} {row['honest_ratio']:7.3f} "
              f"{attacked_ppl} {row['attacked_ratio']:8.3g} {distance:9.3g}  {ok}", flush=True)
    if args.json:
        write_json(args.json, {"args": vars(args), "reference_ppl": ref_ppl,
                               "start_ppl": reference["start_ppl"], "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
