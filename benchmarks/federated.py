"""Federated learning's two targets, measured on the embedded SmolLM2 and the care corpus.

    python benchmarks/federated.py                         # the small run that fits 2 CPU cores
    python benchmarks/federated.py --rounds 5 --local-steps 8 --clients 3

1. Bytes per round per centre. What a centre sends (the liquid parameters, as Flower serialises
   the reply message) against full-model FedAvg (every parameter of the model in the same
   message), for the demo preset (cfc-ncp, last:6, linear skip, as `liquidcare demo` builds it)
   and for `liquidcare federate`'s default (cfc-ncp, last:6, beside the MLPs). Target <= 5%.
2. Quality. Validation perplexity (every centre's validation text pooled) after R rounds of
   FedAvg with C centres x S local steps of batch B (Flower simulation, non-IID: Spanish- and
   English-speaking centres) against centralised training on the pooled training data with the
   same number of optimiser steps (R x S) and the same examples per step (C x B), from the same
   starting adapter (the server clipping updates to the round's median norm unless
   ``--update-clip none``). Target: federated <= 1.05 x centralised.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import torch

from liquidcare.atomic import write_json


def _wire_bytes(obj) -> int:
    size = len(obj.deflate())
    for child in (obj.children or {}).values():
        size += _wire_bytes(child)
    return size


def _reply_bytes(tensors: dict[str, torch.Tensor]) -> int:
    """Bytes Flower serialises for a training reply carrying ``tensors`` and a count."""
    from collections import OrderedDict

    from flwr.app import ArrayRecord, ConfigRecord, Message, MessageType, MetricRecord, RecordDict

    request = Message(content=RecordDict({"config": ConfigRecord({"server-round": 1})}),
                      message_type=MessageType.TRAIN, dst_node_id=1)
    # a reply needs a received message's metadata; the simulation engine sets the same fields
    request.metadata.__dict__["_message_id"] = request.object_id
    state = OrderedDict((k, v.detach().float().contiguous()) for k, v in sorted(tensors.items()))
    reply = Message(content=RecordDict({"arrays": ArrayRecord(torch_state_dict=state),
                                        "metrics": MetricRecord({"num-examples": 64})}),
                    reply_to=request)
    return _wire_bytes(reply)


def bytes_table() -> list[dict]:
    from liquidcare.models import load_base
    from liquidcare.surgery import liquid_state_dict, liquify, preset

    rows = []
    for label, config in (
        ("demo preset (cfc-ncp last:6, skip)", preset("cfc-ncp", layers="last:6",
                                                      linear_skip=True)),
        ("federate default (cfc-ncp last:6, parallel)", preset("cfc-ncp", layers="last:6",
                                                               placement="parallel")),
    ):
        base, _ = load_base("smollm2", device="cpu")
        full = {k: v for k, v in base.named_parameters()}
        full_bytes = _reply_bytes(full)
        model = liquify(base, config)
        # as after a round of training: no two chunks alike (Flower's wire stores identical
        # chunks once, which would flatter the zero-initialised out-projections)
        liquid = {k: v + 1e-3 * torch.randn_like(v) for k, v in liquid_state_dict(model).items()}
        sent = _reply_bytes(liquid)
        rows.append({"setting": label, "liquid_params": sum(t.numel() for t in liquid.values()),
                     "full_params": sum(t.numel() for t in full.values()),
                     "bytes_sent": sent, "full_fedavg_bytes": full_bytes,
                     "ratio": sent / full_bytes})
    return rows


def centralised(cfg, clients: int, steps: int, batch: int) -> float:
    """Train the same starting adapter on every centre's data pooled; pooled validation ppl."""
    from liquidcare.federated.centre import (
        Shard,
        build_model,
        evaluate_nll,
        initial_liquid_state,
        load_shard,
        train_lm,
    )
    from liquidcare.federated.params import load_arrays

    model, _ = build_model(cfg)
    load_arrays(model, initial_liquid_state(cfg))
    shards = [load_shard(cfg, c, clients) for c in range(clients)]

    def cat(name: str):
        parts = [getattr(s, name) for s in shards]
        return None if parts[0] is None else torch.cat(parts)

    pooled = Shard(cat("train"), cat("val"), shards[0].first, cat("train_start"),
                   cat("val_start"))
    train_lm(model, pooled, steps, cfg.lr, batch, seed=cfg.seed)
    return evaluate_nll(model, pooled).ppl


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--local-steps", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--max-train-tokens", type=int, default=2048)
    parser.add_argument("--max-val-tokens", type=int, default=1024)
    parser.add_argument("--update-clip", default="median", choices=["none", "median", "fixed"],
                        help="the server's update clipping (default: the federation's, median; "
                        "the table in docs/federated.md was measured before it, as none)")
    parser.add_argument("--out", default="runs/bench-federated")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--skip-quality", action="store_true", help="bytes only")
    args = parser.parse_args(argv)

    results: dict = {"bytes": bytes_table()}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print("1. bytes sent per round per centre vs full-model FedAvg (serialised Flower reply)")
    print(f"{'setting':46s} {'liquid params':>13s} {'sent':>12s} {'full FedAvg':>13s} "
          f"{'ratio':>7s}  target <= 5%")
    for row in results["bytes"]:
        print(f"{row['setting']:46s} {row['liquid_params']:13,d} {row['bytes_sent']:12,d} "
              f"{row['full_fedavg_bytes']:13,d} {100 * row['ratio']:6.2f}%  "
              f"{'met' if row['ratio'] <= 0.05 else 'MISSED'}")

    if not args.skip_quality:
        from liquidcare.federated import FedConfig, simulate

        out = Path(args.out)
        shutil.rmtree(out, ignore_errors=True)
        cfg = FedConfig(model=args.model, rounds=args.rounds, local_steps=args.local_steps,
                        batch_size=args.batch_size, lr=args.lr,
                        max_train_tokens=args.max_train_tokens,
                        max_val_tokens=args.max_val_tokens, out=str(out),
                        min_clients=args.clients, update_clip=args.update_clip)
        start = time.perf_counter()
        state = simulate(cfg, args.clients)
        fed_seconds = time.perf_counter() - start
        fed = state["rounds"][str(args.rounds)]["global_val_ppl"]
        start_ppl = state["rounds"]["0"]["global_val_ppl"]
        start = time.perf_counter()
        central = centralised(cfg, args.clients, args.rounds * args.local_steps,
                              args.clients * args.batch_size)
        central_seconds = time.perf_counter() - start
        results["quality"] = {
            "config": cfg.to_run_config(), "clients": args.clients, "start_ppl": start_ppl,
            "federated_ppl": fed, "centralised_ppl": central, "ratio": fed / central,
            "federated_seconds": fed_seconds, "centralised_seconds": central_seconds,
            "per_round": {r: row.get("global_val_ppl") for r, row in state["rounds"].items()},
        }
        q = results["quality"]
        print(f"\n2. validation perplexity (pooled), {args.clients} centres x {args.rounds} rounds "
              f"x {args.local_steps} local steps of batch {args.batch_size}; centralised: "
              f"{args.rounds * args.local_steps} steps of batch "
              f"{args.clients * args.batch_size}")
        print(f"{'start':>8s} {'federated':>10s} {'centralised':>12s} {'fed/central':>12s}  "
              "target <= 1.05")
        print(f"{q['start_ppl']:8.3f} {fed:10.3f} {central:12.3f} {q['ratio']:12.4f}  "
              f"{'met' if q['ratio'] <= 1.05 else 'MISSED'}")
        print(f"(federated {fed_seconds:.0f} s including Ray and model start-up; "
              f"centralised {central_seconds:.0f} s)")
    if args.json:
        write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
