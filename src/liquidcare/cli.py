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
from liquidcare.commands import register_all
from liquidcare.errors import UserError

# Exceptions raised for bad input (config keys, files, models): reported in one line. Newer code
# subclasses liquidcare.errors.UserError instead of being listed here.
USER_ERRORS = {
    "LiquidConfigError",
    "AdapterError",
    "TargetNotFoundError",
    "ModelNotAvailableError",
    "LiquidStateError",
}

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


def _read_yaml(path: str) -> dict:
    """A --config file as a mapping; a missing file or bad YAML is a config error, named."""
    import yaml

    from liquidcare.surgery import LiquidConfigError

    try:
        with open(path) as f:
            data = yaml.safe_load(f) or {}
    except OSError as err:
        raise LiquidConfigError(f"--config {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise LiquidConfigError(f"--config {path} is not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise LiquidConfigError(f"--config {path} must hold a mapping of keys")
    return data


def _liquid_config(args: argparse.Namespace):
    """preset → --config YAML → flags, each overriding the one before."""
    from liquidcare.surgery import LiquidConfig, preset

    config = preset(args.preset) if args.preset else LiquidConfig()
    if args.config:
        config = LiquidConfig.from_dict({**config.to_dict(), **_read_yaml(args.config)})
    return config.replace(
        cell=args.cell, wiring=args.wiring, units=args.units, mode=args.mode, layers=args.layers,
        placement=args.placement, motor_neurons=args.motor_neurons,
        target_modules=args.target_modules, train_norms=True if args.train_norms else None,
        attention_lora={"r": args.attn_lora} if args.attn_lora else None,
    )


def cmd_liquify(args: argparse.Namespace) -> int:
    from pathlib import Path

    config = _liquid_config(args)  # a bad key or value stops here, before the model loads
    out = Path(args.out)
    if out.exists() and not args.force:
        print(f"liquidcare: error: {out} exists; pass --force to replace it", file=sys.stderr)
        return 1
    from liquidcare.models import load_base
    from liquidcare.surgery import liquify, save_liquid, trainable_summary

    model, _ = load_base(args.base, device=args.device, dtype=args.dtype)
    model = liquify(model, config)
    info = model.liquid_info
    print(f"base model   {info.base_model} (fingerprint {info.base_fingerprint})")
    print(f"liquid       {config.cell}-{config.wiring}, {config.units} units, {config.mode} mode, "
          f"{config.placement}")
    print(f"layers       {len(info.targets)}: {', '.join(info.targets)}")
    trainable_summary(model)
    save_liquid(model, out)
    print(f"adapter      {out}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    import torch
    from transformers import TextStreamer

    from liquidcare.surgery import load_model

    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    if not prompt.strip():
        print("liquidcare: error: the prompt is empty", file=sys.stderr)
        return 2
    model, tokenizer = load_model(args.model, device=args.device, dtype=args.dtype)
    device = next(model.parameters()).device
    if args.raw or not getattr(tokenizer, "chat_template", None):
        enc = tokenizer(prompt, return_tensors="pt")
    else:
        messages = [{"role": "user", "content": prompt}]
        if args.system:
            messages.insert(0, {"role": "system", "content": args.system})
        enc = tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
    enc = {k: v.to(device) for k, v in enc.items()}
    sampling = {"do_sample": False}
    if args.temperature > 0:
        torch.manual_seed(args.seed)
        sampling = {"do_sample": True, "temperature": args.temperature, "top_p": args.top_p}
    streamer = TextStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
    with torch.no_grad():
        model.generate(
            **enc, max_new_tokens=args.max_new_tokens, streamer=streamer,
            pad_token_id=tokenizer.pad_token_id, **sampling,
        )
    return 0


def cmd_tour(args: argparse.Namespace) -> int:
    from liquidcare import tour

    return tour.main(args)


def _run_pipeline(config, resume: bool = False) -> int:
    from liquidcare.train.pipeline import run
    from liquidcare.train.report import perplexity_table

    summary = run(config, resume=resume)
    run_dir = f"{config.output_dir}/{config.name}"
    print()
    print(perplexity_table(summary))
    print(f"\nreport   {run_dir}/report.md\nadapter  {run_dir}/adapter")
    print(f"try it   liquidcare generate --model {run_dir} \"How can I help my mother drink "
          "more water?\"")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from liquidcare.train.doctor import report, run_checks

    checks = run_checks(distributed=not args.no_distributed)
    print(report(checks))
    failed = [c.name for c in checks if c.status == "FAIL"]
    if failed:
        print(f"\n{len(failed)} check(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("\nall checks passed")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from liquidcare.train.pipeline import FULL_RECIPE, RunConfig

    config = RunConfig(name=args.name, output_dir=args.output_dir, device=args.device)
    if args.full:
        if args.quick:
            raise SystemExit("liquidcare demo: --quick and --full exclude each other")
        config = RunConfig.from_dict({**config.to_dict(), **FULL_RECIPE,
                                      "name": args.name if args.name != "demo" else "demo-full"})
    if args.quick:
        config.stage1 = {**config.stage1, "steps": min(config.stage1["steps"], 10)}
        config.stage2 = {**config.stage2, "steps": 20}
        config.max_train_tokens, config.max_val_tokens = 4096, 2048
    return _run_pipeline(config, resume=args.resume)


def cmd_train(args: argparse.Namespace) -> int:
    from liquidcare.train.pipeline import RunConfig

    data = _read_yaml(args.config)
    overrides = {k: v for k, v in {"name": args.name, "output_dir": args.output_dir,
                                   "device": args.device}.items() if v is not None}
    return _run_pipeline(RunConfig.from_dict({**data, **overrides}), resume=args.resume)


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
        help="the main job: liquify SmolLM2, distil on the care corpus, report perplexity",
        description="Liquify the embedded SmolLM2 (CfC-NCP in place of the MLPs of the last 6 "
        "layers), distil the liquid blocks from the MLPs on the bundled care corpus (least "
        "squares, then stage 2 end to end; the settings of configs/cfc-ncp-smollm2.yaml), "
        "evaluate validation perplexity after each step, then base and liquid model on the "
        "held-out care test split and out-of-domain prose, and write runs/NAME/{adapter/, "
        "report.md, loss.png, tb/}. About 23 minutes on an idle 2-core CPU.",
    )
    _add_run_options(demo, name="demo", output_dir="runs", device="auto")
    demo.add_argument("--quick", action="store_true",
                      help="a one-minute smoke run with few steps and tokens")
    demo.add_argument("--full", action="store_true",
                      help="the longer recipe: 12 MLPs liquid, the knowledge base and samples "
                      "from the base model as extra teacher text (configs/"
                      "cfc-ncp-smollm2-full.yaml; runs/demo-full; about an hour on 2 cores)")
    demo.set_defaults(func=cmd_demo)

    train = sub.add_parser(
        "train",
        help="run a distillation or fine-tuning experiment from a YAML config (see configs/)",
        description="Run the liquify → distil (or fine-tune) → evaluate → report pipeline with "
        "the settings of a YAML file (keys of liquidcare.train.pipeline.RunConfig; unknown keys "
        "are refused). For several processes: torchrun --nproc_per_node=N -m liquidcare.train "
        "--config X.yaml",
    )
    train.add_argument("--config", required=True,
                       help="YAML file, e.g. configs/cfc-ncp-smollm2.yaml")
    _add_run_options(train)
    train.set_defaults(func=cmd_train)

    doctor = sub.add_parser(
        "doctor",
        help="check this machine: packages, device, embedded model, a 2-process all_reduce",
        description="Print one line per check (ok / warn / FAIL): required and optional "
        "packages, the device that device='auto' picks, the embedded model and its cache, and "
        "a two-process torch.distributed all_reduce on loopback (gloo on CPU, nccl on two "
        "GPUs). Exit code 1 when a check fails.",
    )
    doctor.add_argument("--no-distributed", action="store_true",
                        help="skip the two-process all_reduce")
    doctor.set_defaults(func=cmd_doctor)

    tour = sub.add_parser(
        "tour",
        help="tour of the liquid core: exactness and speed against ncps, LiquidFFN blocks",
        description="Compare our CfC/LTC layers with ncps.torch on copied weights (max "
        "difference, fwd+bwd time), then time a LiquidFFN block per cell. Runs on CPU.",
    )
    tour.add_argument("--batch", type=int, default=4, help="sequences per batch (default: 4)")
    tour.add_argument("--tokens", type=int, default=64, help="time steps (default: 64)")
    tour.add_argument("--units", type=int, default=32, help="liquid neurons (default: 32)")
    tour.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    tour.set_defaults(func=cmd_tour)
    _add_surgery_parsers(sub)
    register_all(sub)
    return parser


def _add_run_options(parser: argparse.ArgumentParser, name: str | None = None,
                     output_dir: str | None = None, device: str | None = None) -> None:
    """--name, --output-dir, --device, --resume of a pipeline run (None: keep the config's)."""
    keep = "the config's"
    parser.add_argument("--name", default=name, help=f"run name (default: {name or keep})")
    parser.add_argument("--output-dir", default=output_dir,
                        help=f"where runs go (default: {output_dir or keep})")
    parser.add_argument("--device", default=device,
                        help=f"auto, cpu, cuda, cuda:N (default: {device or keep})")
    parser.add_argument("--resume", action="store_true",
                        help="continue a killed run from runs/NAME/checkpoint.pt; stops at once "
                        "with an error if there is none, it is damaged, or the config differs "
                        "from the one it was written with (device and precision may change)")


def _add_surgery_parsers(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    from_presets = "cfc-fc-gpt2, cfc-ncp-gpt2, ltc-fc-gpt2, ltc-ncp-gpt2, cfc-fc-mistral, " \
        "cfc-fc, cfc-ncp, ltc-fc, ltc-ncp, scan-fc, scan-ncp"
    liq = sub.add_parser(
        "liquify",
        help="replace a base model's MLPs with liquid layers and write the adapter",
        description="Load a base model, put liquid blocks (CfC, LTC or the liquid scan; fully "
        "connected or NCP wiring) in place of (or beside) the MLPs of the chosen decoder blocks, "
        "freeze the base, print the trainable-parameter summary and write the liquid adapter "
        "(liquid_config.json + liquid_model.safetensors) to --out. Settings come from --preset, "
        "then --config, then the flags.",
    )
    liq.add_argument("--base", default="smollm2",
                     help="base model: smollm2 (embedded, default), a folder, a .gguf or a hub id")
    liq.add_argument("--preset", default="cfc-ncp", help=f"one of: {from_presets} "
                     "(default: cfc-ncp)")
    liq.add_argument("--config", default=None, help="YAML file of LiquidConfig keys")
    liq.add_argument("--cell", choices=["cfc", "ltc", "scan"], default=None)
    liq.add_argument("--wiring", choices=["fc", "ncp"], default=None)
    liq.add_argument("--units", type=int, default=None, help="liquid neurons per block")
    liq.add_argument("--mode", choices=["sequence", "token"], default=None,
                     help="sequence: recurrent over tokens (default); token: each token alone")
    liq.add_argument("--layers", default=None,
                     help="all | last:N | first:N | 3,5,7 (default: all)")
    liq.add_argument("--placement", choices=["replace", "parallel"], default=None,
                     help="replace the MLP (default) or add a zero-initialised branch beside it")
    liq.add_argument("--motor-neurons", type=int, default=None, help="NCP output neurons")
    liq.add_argument("--target-modules", nargs="+", default=None,
                     help="MLP module names for architectures not recognised automatically")
    liq.add_argument("--train-norms", action="store_true",
                     help="also train the norms of the liquified blocks")
    liq.add_argument("--attn-lora", type=int, default=None, metavar="R",
                     help="a rank-R LoRA (alpha 2R) on the liquified blocks' attention")
    liq.add_argument("--out", required=True, help="adapter directory to write, e.g. runs/care")
    liq.add_argument("--force", action="store_true", help="replace --out if it exists")
    liq.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N")
    liq.add_argument("--dtype", default=None, help="auto (default), float32, bfloat16, float16")
    liq.set_defaults(func=cmd_liquify)

    gen = sub.add_parser(
        "generate",
        help="generate a reply from a base model or a liquid adapter, streamed",
        description="Wrap the prompt in the model's chat template (a user turn, optionally "
        "after a system turn) and stream the reply. Greedy by default; --temperature > 0 "
        "samples.",
    )
    gen.add_argument("prompt", help="the user's message; '-' reads it from stdin")
    gen.add_argument("--model", default="smollm2",
                     help="base model name/path or adapter directory (default: smollm2)")
    gen.add_argument("--system", default=None, help="system message")
    gen.add_argument("--max-new-tokens", type=int, default=128)
    gen.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    gen.add_argument("--top-p", type=float, default=0.9)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--raw", action="store_true", help="no chat template: continue the text")
    gen.add_argument("--device", default="auto")
    gen.add_argument("--dtype", default=None)
    gen.set_defaults(func=cmd_generate)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except Exception as err:
        # errors that describe a bad input get one clear line, not a traceback
        if isinstance(err, UserError) or type(err).__name__ in USER_ERRORS:
            print(f"liquidcare: error: {err}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
