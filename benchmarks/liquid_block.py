"""Liquid blocks in place of a GPT-2 MLP: forward + backward time and memory, ours against ncps.

Every row is measured in a fresh Python process (this script run with ``--worker ROW``), so the
peak resident memory of one layer never leaks into the next row's figure and a row that is killed
(for instance for memory) costs only that row. The parent prints one table and, with
``--json PATH``, writes the same rows as JSON.

    .venv/bin/python benchmarks/liquid_block.py                      # full size: many minutes
    .venv/bin/python benchmarks/liquid_block.py --batch 2 --tokens 32 --width 64 --units 16 \\
        --ltc-tokens 8 --repeats 1                                   # a quick check
    .venv/bin/python benchmarks/liquid_block.py --only mlp,ncps-cfc-fc,ours-cfc-fc
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time

RESULT_TAG = "LIQUID_BLOCK_RESULT "

# Row families in table order. "ours-ltc-*" rows are measured twice (at --ltc-tokens and at
# --tokens); "ncps-ltc-*" only at --ltc-tokens; everything else at --tokens.
FAMILIES = ["cfc-fc", "cfc-ncp", "ltc-fc", "ltc-ncp"]
# "+compile": the same layer with its elementwise maths fused by torch.compile (the warm-up
# call pays the compilation).
SCAN_ROWS = ["ours-scan-fc", "ours-scan-fc+compile", "ours-scan-ncp", "ours-scan-ncp+compile"]
MIN_SCAN_UNITS = 8


# --------------------------------------------------------------------------------------------
# Worker side: build one module, time it, report one JSON line.
# --------------------------------------------------------------------------------------------


def _rss_mb() -> float:
    """Current resident set size in MB (Linux /proc; falls back to the peak elsewhere)."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        return _peak_rss_mb()


def _peak_rss_mb() -> float:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _liquid_scan_class():
    try:
        from liquidcare.liquid import LiquidScan
    except ImportError:
        from liquidcare.liquid.scan import LiquidScan
    return LiquidScan


def build_module(row: str, width: int, units: int, scan_units: int | None):
    """The module a row measures. Layers from ncps and ours return (y, state); the MLP y."""
    from torch import nn

    if row == "mlp":
        return nn.Sequential(
            nn.Linear(width, 4 * width),
            nn.GELU(approximate="tanh"),
            nn.Linear(4 * width, width),
        )
    row, compiled = row.removesuffix("+compile"), row.endswith("+compile")
    source, kind, wiring = row.split("-")
    if kind == "scan":
        if scan_units is None:
            raise ValueError("the scan rows need --scan-units")
        units = scan_units

    def wiring_or_units():
        if wiring == "fc":
            return units
        from ncps.wirings import AutoNCP

        return AutoNCP(units, units // 4)

    if source == "ncps":
        from ncps import torch as lib
    else:
        import liquidcare.liquid as lib

    if kind == "cfc":
        return lib.CfC(width, wiring_or_units(), proj_size=width)
    if kind == "ltc":
        return lib.LTC(width, wiring_or_units())
    if kind == "scan" and source == "ours":
        return _liquid_scan_class()(width, wiring_or_units(), proj_size=width, compile=compiled)
    raise ValueError(f"unknown row {row!r}")


def count_params(module) -> int:
    """Trainable parameters only: ncps stores its wiring masks as frozen parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def run_worker(args: argparse.Namespace) -> dict:
    import gc

    import torch

    torch.manual_seed(0)
    module = build_module(args.worker, args.width, args.units, args.scan_units)
    x = torch.randn(args.batch, args.tokens, args.width, requires_grad=True)
    gc.collect()
    base_mb = _rss_mb()

    times_ms = []
    for i in range(args.warmup + args.repeats):
        x.grad = None
        module.zero_grad(set_to_none=True)
        start = time.perf_counter()
        out = module(x)
        y = out[0] if isinstance(out, tuple) else out
        loss = y.float().square().mean()
        loss.backward()
        elapsed = time.perf_counter() - start
        if i >= args.warmup:
            times_ms.append(elapsed * 1000.0)
        del out, y, loss

    peak_mb = _peak_rss_mb()
    median_ms = statistics.median(times_ms)
    return {
        "params": count_params(module),
        "ms": median_ms,
        "ms_all": times_ms,
        "tokens_per_s": args.batch * args.tokens / (median_ms / 1000.0),
        "peak_mb": peak_mb,
        "base_mb": base_mb,
        "above_mb": peak_mb - base_mb,
        "threads": torch.get_num_threads(),
    }


def choose_scan_units(width: int, target: int) -> tuple[int, int]:
    """The LiquidScan unit count whose parameter count is closest to ``target``.

    The count is linear in the units: two small builds give the line, then a local search over
    real builds settles the integer (ties go to fewer units).
    """
    scan_cls = _liquid_scan_class()
    cache: dict[int, int] = {}

    def count(u: int) -> int:
        if u not in cache:
            cache[u] = count_params(scan_cls(width, u, proj_size=width))
        return cache[u]

    lo, hi = MIN_SCAN_UNITS, 2 * MIN_SCAN_UNITS
    slope = (count(hi) - count(lo)) / (hi - lo)
    if slope <= 0:
        raise ValueError("LiquidScan's parameter count does not grow with its units")
    u = max(MIN_SCAN_UNITS, round(lo + (target - count(lo)) / slope))
    while True:
        candidates = [v for v in (u - 1, u, u + 1) if v >= MIN_SCAN_UNITS]
        best = min(candidates, key=lambda v: (abs(count(v) - target), v))
        if best == u:
            return u, count(u)
        u = best


def run_info(args: argparse.Namespace) -> dict:
    import torch

    info = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    mlp_params = count_params(build_module("mlp", args.width, args.units, None))
    info["mlp_params"] = mlp_params
    if args.need_scan:
        try:
            info["scan_units"], info["scan_params"] = choose_scan_units(args.width, mlp_params)
        except Exception as exc:  # reported in the scan rows instead of numbers
            info["scan_error"] = _describe(exc)
    return info


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return text[:160]


def worker_main(args: argparse.Namespace) -> int:
    try:
        result = run_info(args) if args.worker == "info" else run_worker(args)
    except Exception as exc:
        print(RESULT_TAG + json.dumps({"error": _describe(exc)}), flush=True)
        return 1
    print(RESULT_TAG + json.dumps(result), flush=True)
    return 0


# --------------------------------------------------------------------------------------------
# Parent side: plan rows, run each in a subprocess, print the table.
# --------------------------------------------------------------------------------------------


def plan_rows(args: argparse.Namespace) -> list[dict]:
    """Rows in table order: name, the worker's row kind, its family and its sequence length."""
    rows = [{"row": "mlp", "kind": "mlp", "family": "mlp", "T": args.tokens}]
    for family in FAMILIES:
        if family.startswith("ltc"):
            rows.append({"row": f"ncps-{family}", "kind": f"ncps-{family}", "family": family,
                         "T": args.ltc_tokens})
            lengths = dict.fromkeys([args.ltc_tokens, args.tokens])  # one row if they are equal
            for T in lengths:
                rows.append({"row": f"ours-{family}@{T}", "kind": f"ours-{family}",
                             "family": family, "T": T})
        else:
            for source in ("ncps", "ours"):
                rows.append({"row": f"{source}-{family}", "kind": f"{source}-{family}",
                             "family": family, "T": args.tokens})
    for name in SCAN_ROWS:
        rows.append({"row": name, "kind": name, "family": name[len("ours-"):], "T": args.tokens})
    return rows


def select_rows(rows: list[dict], only: str | None, ltc_tokens: int) -> list[dict]:
    """``--only``: exact row names, or a name without ``@`` for all its lengths; ``@T`` means
    ``@<ltc-tokens>``."""
    if not only:
        return rows
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    wanted = [w[:-2] + f"@{ltc_tokens}" if w.endswith("@T") else w for w in wanted]
    known = {r["row"] for r in rows} | {r["kind"] for r in rows}
    unknown = [w for w in wanted if w not in known]
    if unknown:
        raise SystemExit(
            f"unknown row(s) {', '.join(unknown)}; choose from: "
            + ", ".join(r["row"] for r in rows)
        )
    return [r for r in rows if r["row"] in wanted or r["kind"] in wanted]


def _common_flags(args: argparse.Namespace) -> list[str]:
    return ["--batch", str(args.batch), "--width", str(args.width), "--units", str(args.units),
            "--repeats", str(args.repeats), "--warmup", str(args.warmup)]


def run_subprocess(cmd: list[str], timeout: float) -> dict:
    """Runs one worker; returns its JSON result or {"error": reason}."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:g} s"}
    result = None
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            result = json.loads(line[len(RESULT_TAG):])
    if proc.returncode == 0 and result is not None:
        return result
    if result is not None and "error" in result:
        return result
    if proc.returncode < 0:
        try:
            name = signal.Signals(-proc.returncode).name
        except ValueError:
            name = f"signal {-proc.returncode}"
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return {"error": f"killed by {name}{hint}"}
    tail = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    last = tail[-1].strip()[:160] if tail else "no output"
    return {"error": f"exit status {proc.returncode}: {last}"}


def add_ratios(rows: list[dict]) -> None:
    """speed/mem vs the ncps row of the same family and T, and vs the MLP."""
    ok = [r for r in rows if "error" not in r]
    ncps = {(r["family"], r["T"]): r for r in ok if r["row"].startswith("ncps-")}
    mlp = next((r for r in ok if r["row"] == "mlp"), None)

    def ratio(a: float, b: float) -> float | None:
        return a / b if b > 0 else None

    for r in ok:
        r["speed_vs_ncps"] = r["mem_vs_ncps"] = r["speed_vs_mlp"] = r["mem_vs_mlp"] = None
        match = ncps.get((r["family"], r["T"])) if r["row"].startswith("ours-") else None
        if match is not None:
            r["speed_vs_ncps"] = ratio(r["tokens_per_s"], match["tokens_per_s"])
            r["mem_vs_ncps"] = ratio(r["above_mb"], match["above_mb"])
        if mlp is not None and r is not mlp:
            r["speed_vs_mlp"] = ratio(r["tokens_per_s"], mlp["tokens_per_s"])
            if r["T"] == mlp["T"]:  # memory grows with T: only compare at the same length
                r["mem_vs_mlp"] = ratio(r["above_mb"], mlp["above_mb"])


COLUMNS = [
    # (header, key, format, left-aligned)
    ("row", "row", "{}", True),
    ("T", "T", "{}", False),
    ("params", "params", "{:,}", False),
    ("fwd+bwd ms", "ms", "{:.1f}", False),
    ("tokens/s", "tokens_per_s", "{:,.0f}", False),
    ("peak MB", "peak_mb", "{:,.0f}", False),
    ("MB above base", "above_mb", "{:,.0f}", False),
    ("speed vs ncps", "speed_vs_ncps", "{:.2f}x", False),
    ("mem vs ncps", "mem_vs_ncps", "{:.2f}x", False),
    ("speed vs MLP", "speed_vs_mlp", "{:.2f}x", False),
    ("mem vs MLP", "mem_vs_mlp", "{:.2f}x", False),
]


def format_table(rows: list[dict]) -> str:
    cells = []
    for r in rows:
        if "error" in r:
            cells.append([str(r["row"]), str(r["T"])])
            continue
        cells.append(["" if r.get(key) is None else fmt.format(r[key])
                      for _, key, fmt, _ in COLUMNS])
    widths = [len(h) for h, *_ in COLUMNS]
    for line in cells:
        for i, cell in enumerate(line):
            widths[i] = max(widths[i], len(cell))

    def join(line: list[str]) -> str:
        parts = [cell.ljust(widths[i]) if COLUMNS[i][3] else cell.rjust(widths[i])
                 for i, cell in enumerate(line)]
        return "  ".join(parts).rstrip()

    out = [join([h for h, *_ in COLUMNS]), join(["-" * w for w in widths])]
    for r, line in zip(rows, cells, strict=True):
        text = join(line)
        if "error" in r:
            text += "  FAILED: " + r["error"]
        out.append(text)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=512, help="sequence length T")
    parser.add_argument("--width", type=int, default=768, help="model width (GPT-2: 768)")
    parser.add_argument("--units", type=int, default=256, help="liquid units (CfC/LTC rows)")
    parser.add_argument("--repeats", type=int, default=2, help="timed fwd+bwd passes (median)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed passes first")
    parser.add_argument("--only", metavar="ROW[,ROW...]", help="measure only these rows")
    parser.add_argument("--ltc-tokens", type=int, default=32,
                        help="T for the ncps LTC rows (and ours, again, for comparison)")
    parser.add_argument("--scan-units", type=int, default=None,
                        help="units for the LiquidScan rows (default: params closest to the MLP)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per row")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--need-scan", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ("batch", "tokens", "width", "units", "repeats", "ltc_tokens"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.warmup < 0:
        parser.error("--warmup must be >= 0")

    if args.worker:
        return worker_main(args)

    rows = select_rows(plan_rows(args), args.only, args.ltc_tokens)
    need_scan = any(r["row"] in SCAN_ROWS for r in rows) and args.scan_units is None
    script = os.path.abspath(__file__)
    info_cmd = [sys.executable, script, "--worker", "info", "--tokens", str(args.tokens),
                *_common_flags(args)] + (["--need-scan"] if need_scan else [])
    info = run_subprocess(info_cmd, args.timeout)
    scan_units = args.scan_units if args.scan_units is not None else info.get("scan_units")
    scan_error = info.get("scan_error") or info.get("error")

    for r in rows:
        if r["row"] in SCAN_ROWS and scan_units is None:
            r["error"] = f"no LiquidScan units: {scan_error}"
            print(f"[{r['row']}] skipped: {r['error']}", file=sys.stderr, flush=True)
            continue
        cmd = [sys.executable, script, "--worker", r["kind"], "--tokens", str(r["T"]),
               *_common_flags(args)]
        if r["row"] in SCAN_ROWS:
            cmd += ["--scan-units", str(scan_units)]
            r["units"] = scan_units
        print(f"[{r['row']}] T={r['T']} ...", file=sys.stderr, end=" ", flush=True)
        start = time.perf_counter()
        r.update(run_subprocess(cmd, args.timeout))
        status = f"FAILED: {r['error']}" if "error" in r else "ok"
        print(f"{status} ({time.perf_counter() - start:.1f} s)", file=sys.stderr, flush=True)

    add_ratios(rows)

    threads = info.get("threads", "?")
    print(f"Liquid blocks in place of a GPT-2 MLP, fwd+bwd float32 on CPU: torch "
          f"{info.get('torch', '?')}, {threads} threads, {os.cpu_count()} CPUs; batch "
          f"{args.batch}, width {args.width}, units {args.units}, median of {args.repeats} "
          f"(after {args.warmup} warmup), one fresh process per row")
    print()
    print(format_table(rows))
    print()
    notes = [
        f"T = tokens per sequence. ncps LTC rows run at T={args.ltc_tokens} (--ltc-tokens): at "
        "batch 8, width 768, 256 units ncps LTC needs ~140 MB per token, so 512 tokens do not "
        f"fit in 24 GB. Our LTC runs at both lengths: '@{args.ltc_tokens}' rows are compared "
        f"with ncps, '@{args.tokens}' rows have no ncps match.",
        "tokens/s = batch*T / median fwd+bwd time, so 'speed vs' compares per-token cost even "
        "across different T; 'mem vs MLP' is left blank where T differs from the MLP's.",
        "params = trainable parameters (ncps keeps its wiring masks as frozen ones). "
        "peak MB = peak RSS of the row's process; MB above base = peak RSS minus RSS after "
        "building the module and input (before the first forward). 'vs ncps' and 'vs MLP' "
        "divide ours by theirs (speed: >1 is faster; mem: <1 is smaller).",
    ]
    if any(r["row"] in SCAN_ROWS for r in rows):
        if scan_units is not None:
            how = ("set by --scan-units" if args.scan_units is not None
                   else f"parameter count closest to the MLP's {info.get('mlp_params', 0):,}")
            notes.append(f"LiquidScan rows use {scan_units} units ({how}); the NCP variant is "
                         f"AutoNCP({scan_units}, {scan_units // 4}).")
    for note in notes:
        print("* " + note)

    if args.json:
        payload = {
            "machine": {k: info.get(k) for k in ("torch", "threads", "cpus", "python", "machine")},
            "settings": {k: getattr(args, k) for k in ("batch", "tokens", "width", "units",
                                                       "repeats", "warmup", "ltc_tokens")},
            "scan_units": scan_units,
            "rows": rows,
        }
        with open(args.json, "w") as fh:
            json.dump(payload, fh, indent=2)
            fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
