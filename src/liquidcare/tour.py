"""`liquidcare tour`: a short, honest tour of the liquid core that runs on a laptop CPU.

1. Exactness and speed against the reference: for CfC and LTC, each with a fully connected and an
   NCP wiring, build the `ncps.torch` layer, copy its weights into ours with `from_ncps`, run both
   on the same input, and print the largest output difference and the forward+backward times.
2. One `LiquidFFN` block per cell (cfc, ltc, scan): the drop-in replacement for a transformer MLP,
   timed forward+backward at a small width.
3. Where the embedded base model (SmolLM2-135M-Instruct GGUF) lies.

Timings are medians of a few runs in this process: read them as ratios, not as absolute numbers.
"""

import argparse
import statistics
import time
from collections.abc import Callable

import torch

INPUT_SIZE = 32  # features per token fed to the CfC/LTC comparisons
D_MODEL = 64  # width of the LiquidFFN blocks
WARMUP = 1
REPEATS = 3


def fwd_bwd_ms(run: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> float:
    """Median wall time in ms of one forward pass plus the backward pass of a scalar loss."""
    times = []
    for i in range(WARMUP + REPEATS):
        xi = x.detach().requires_grad_(True)
        start = time.perf_counter()
        y = run(xi)
        y.pow(2).mean().backward()
        if i >= WARMUP:
            times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def compare_with_ncps(args: argparse.Namespace) -> list[tuple[str, float, float, float]]:
    import ncps.torch
    from ncps.wirings import AutoNCP

    from liquidcare.liquid import LTC, CfC

    # AutoNCP needs room for inter and command neurons next to the motor (output) neurons.
    ncp_outputs = max(1, args.units // 4)

    def ncp():
        return AutoNCP(args.units, ncp_outputs)

    cases = [
        ("CfC-FC", lambda: ncps.torch.CfC(INPUT_SIZE, args.units), CfC),
        ("CfC-NCP", lambda: ncps.torch.CfC(INPUT_SIZE, ncp()), CfC),
        ("LTC-FC", lambda: ncps.torch.LTC(INPUT_SIZE, args.units), LTC),
        ("LTC-NCP", lambda: ncps.torch.LTC(INPUT_SIZE, ncp()), LTC),
    ]
    x = torch.randn(args.batch, args.tokens, INPUT_SIZE)
    rows = []
    for name, make_reference, ours_cls in cases:
        reference = make_reference()
        ours = ours_cls.from_ncps(reference)
        with torch.no_grad():
            diff = (ours(x)[0] - reference(x)[0]).abs().max().item()
        ref_ms = fwd_bwd_ms(lambda t, m=reference: m(t)[0], x)
        our_ms = fwd_bwd_ms(lambda t, m=ours: m(t)[0], x)
        rows.append((name, diff, ref_ms, our_ms))
    return rows


def time_liquid_ffn(args: argparse.Namespace) -> list[tuple[str, float]]:
    from liquidcare.liquid import LiquidFFN

    x = torch.randn(args.batch, args.tokens, D_MODEL)
    rows = []
    for cell in ("cfc", "ltc", "scan"):
        block = LiquidFFN(D_MODEL, cell=cell, wiring="fc", units=args.units, mode="sequence")
        with torch.no_grad():
            y = block(x)
        if y.shape != x.shape:
            raise RuntimeError(
                f"LiquidFFN(cell={cell!r}) returned {tuple(y.shape)}, expected {tuple(x.shape)}"
            )
        rows.append((cell, fwd_bwd_ms(block, x)))
    return rows


def check_args(args: argparse.Namespace) -> None:
    for field, minimum in (("batch", 1), ("tokens", 1), ("units", 8)):
        value = getattr(args, field)
        if value < minimum:
            raise SystemExit(f"liquidcare demo: --{field} must be at least {minimum}, got {value}")


def main(args: argparse.Namespace) -> int:
    check_args(args)
    torch.manual_seed(args.seed)
    try:
        import liquidcare.liquid  # noqa: F401
    except ImportError as err:
        print(f"liquid core not available: {err}")
        return 1

    print(
        f"liquidcare demo: batch {args.batch}, tokens {args.tokens}, input {INPUT_SIZE}, "
        f"units {args.units}, seed {args.seed}, torch threads {torch.get_num_threads()}"
    )
    print()
    print(
        "1. ours vs ncps.torch on copied weights (fwd+bwd, median of "
        f"{REPEATS} after {WARMUP} warm-up)"
    )
    header = (
        f"{'layer':<9} {'max |ours - ncps|':>18} {'ncps ms':>10} {'ours ms':>10} {'speed-up':>9}"
    )
    print(header)
    print("-" * len(header))
    for name, diff, ref_ms, our_ms in compare_with_ncps(args):
        print(f"{name:<9} {diff:>18.2e} {ref_ms:>10.1f} {our_ms:>10.1f} {ref_ms / our_ms:>8.2f}x")

    print()
    print(f"2. LiquidFFN blocks, d_model {D_MODEL}, {args.units} units, sequence mode (fwd+bwd)")
    header = f"{'cell':<9} {'ms':>10}"
    print(header)
    print("-" * len(header))
    for cell, ms in time_liquid_ffn(args):
        print(f"{cell:<9} {ms:>10.1f}")

    print()
    from liquidcare.models.embedded import embedded_gguf_path

    try:
        print(f"3. embedded base model: {embedded_gguf_path()}")
    except FileNotFoundError as err:
        print(f"3. {err}")
    return 0
