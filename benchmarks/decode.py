"""Prefill and cached-decode speed: the base model against its liquified variants.

    python benchmarks/decode.py                      # SmolLM2 (embedded), the default rows
    python benchmarks/decode.py --presets cfc-ncp --placements replace:last:6 --json out.json

For each preset (cell + wiring) and placement it liquifies a fresh copy of the base model and
measures, with the KV cache (and the liquid decode state) on:
  prefill  time of one forward pass over a --prompt-token prompt (median of --repeats)
  decode   new tokens per second: (generate N+1 tokens − generate 1 token) / N, greedy
The base model is measured before and after the liquified rows; its mean is the reference for the
ratio column (≥ 1.0 means the liquified model decodes at least as fast as the base).
Weights are untrained: speed does not depend on them.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time

import torch

from liquidcare.models import load_base
from liquidcare.surgery import liquify, preset

DEFAULT_PRESETS = ["cfc-fc", "cfc-ncp", "ltc-fc", "scan-fc", "scan-ncp"]
DEFAULT_PLACEMENTS = ["replace:last:6", "replace:all", "parallel:all"]


def _timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@torch.no_grad()
def measure(model, prompt: torch.Tensor, new_tokens: int, repeats: int) -> dict[str, float]:
    mask = torch.ones_like(prompt)

    def generate(n: int):
        model.generate(
            input_ids=prompt, attention_mask=mask, max_new_tokens=n, min_new_tokens=n,
            do_sample=False, pad_token_id=0,
        )

    generate(2)  # warm-up: allocator, lazy inits, memoised decode weights
    prefill = _timed(lambda: model(input_ids=prompt, attention_mask=mask), repeats)
    one = _timed(lambda: generate(1), repeats)
    full = _timed(lambda: generate(new_tokens + 1), repeats)
    return {"prefill_ms": prefill * 1e3, "decode_tok_s": new_tokens / max(full - one, 1e-9)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="smollm2", help="base model (default: smollm2)")
    parser.add_argument("--presets", nargs="+", default=DEFAULT_PRESETS)
    parser.add_argument(
        "--placements", nargs="+", default=DEFAULT_PLACEMENTS,
        help="PLACEMENT:LAYERS, e.g. replace:last:6 replace:all parallel:all",
    )
    parser.add_argument("--prompt-tokens", type=int, default=256)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    base, _ = load_base(args.base, device=args.device)
    device = next(base.parameters()).device
    g = torch.Generator().manual_seed(0)
    vocab = base.config.get_text_config().vocab_size
    prompt = torch.randint(100, vocab - 1, (1, args.prompt_tokens), generator=g).to(device)

    rows = []
    base_first = measure(base, prompt, args.new_tokens, args.repeats)
    for name in args.presets:
        for spec in args.placements:
            placement, _, layers = spec.partition(":")
            model = liquify(copy.deepcopy(base), preset(name, placement=placement, layers=layers))
            result = measure(model.eval(), prompt, args.new_tokens, args.repeats)
            rows.append({"model": f"{name} {placement} {layers}", **result})
            print(f"  measured {rows[-1]['model']}", file=sys.stderr, flush=True)
            del model
    base_last = measure(base, prompt, args.new_tokens, args.repeats)
    ref = {k: (base_first[k] + base_last[k]) / 2 for k in base_first}
    rows.insert(0, {"model": "base", **ref})
    for row in rows:
        row["decode_vs_base"] = row["decode_tok_s"] / ref["decode_tok_s"]

    print(
        f"{args.base} on {device}, {torch.get_num_threads()} threads; prompt "
        f"{args.prompt_tokens} tokens, {args.new_tokens} new tokens, median of {args.repeats}"
    )
    print(f"{'model':32s} {'prefill ms':>11s} {'decode tok/s':>13s} {'vs base':>8s}")
    for row in rows:
        print(
            f"{row['model']:32s} {row['prefill_ms']:11.0f} {row['decode_tok_s']:13.1f} "
            f"{row['decode_vs_base']:7.2f}x"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
