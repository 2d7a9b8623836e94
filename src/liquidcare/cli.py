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


def auto_device() -> str:
    """The device that `device="auto"` picks: the GPU when torch can see one, else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def cmd_info(args: argparse.Namespace) -> int:
    import torch

    from liquidcare.models.embedded import embedded_gguf_path

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

    info = sub.add_parser("info", help="versions, device, and where the embedded model is")
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
