"""A run's report: `report.md` (config, timings, perplexity table, samples) and `loss.png`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from liquidcare.atomic import write_json, write_text, write_with

from .heldout import held_out_table


def plot_losses(losses: dict[str, list[float]], path: Path) -> None:
    """One panel per stage: loss per step (log scale), and its running mean."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and in CI
    import matplotlib.pyplot as plt

    stages = [(name, values) for name, values in losses.items() if values]
    fig, axes = plt.subplots(1, max(len(stages), 1), figsize=(5 * max(len(stages), 1), 3.5))
    axes = axes if hasattr(axes, "__len__") else [axes]
    for ax, (name, values) in zip(axes, stages, strict=False):
        ax.plot(values, lw=0.8, alpha=0.5, label="per step")
        window = max(len(values) // 20, 1)
        smooth = [sum(values[max(0, i - window + 1) : i + 1]) / len(values[max(0, i - window + 1)
                  : i + 1]) for i in range(len(values))]
        ax.plot(smooth, lw=1.6, label=f"mean of {window}")
        ax.set_title(name)
        ax.set_xlabel("step")
        ax.set_yscale("log")
        ax.legend()
    save_figure(fig, path)


def save_figure(fig, path: Path) -> None:
    """Write a matplotlib figure as PNG atomically (temp file + rename) and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    try:
        # the temp file's name does not end in .png: the format is named
        write_with(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    finally:
        plt.close(fig)


def write_report(run_dir: Path, summary: dict[str, Any]) -> Path:
    """Write report.md and metrics.json into ``run_dir`` from the run's ``summary``."""
    rows = summary["evaluations"]
    base_ppl = rows[0]["ppl"]
    lines = [
        f"# Run `{summary['name']}`",
        "",
        f"Base model `{summary['base']}`, liquid preset `{summary['preset']}` "
        f"({summary['liquid']['cell']}-{summary['liquid']['wiring']}, "
        f"{summary['liquid']['units']} units, {summary['liquid']['mode']} mode, "
        f"{summary['liquid']['placement']}), layers {summary['layers']}.",
        f"Corpus `{summary['corpus']}`: {summary['train_tokens']:,} training tokens, "
        f"{summary['val_tokens']:,} validation tokens, blocks of {summary['block_size']}"
        + (f"; {summary['stage2_tokens']:,} tokens in all for the last stage (extra corpora and"
           " samples from the base model)." if summary.get("stage2_tokens", 0)
           > summary["train_tokens"] else "."),
        f"Trainable parameters: {summary['trainable']:,} of {summary['total']:,} "
        f"({100 * summary['trainable'] / summary['total']:.2f}%). Device: {summary['device']}"
        f" × {summary.get('processes', 1)} process(es), precision "
        f"{summary.get('precision', 'fp32')}. Mode: {summary.get('mode', 'distill')}.",
        "",
        "## Validation perplexity",
        "",
        "| model | perplexity | × base | KL(base ‖ model) per token |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        kl = f"{row['kl']:.4f}" if "kl" in row else "—"  # fine-tuning has no teacher
        lines.append(f"| {row['label']} | {row['ppl']:.2f} | {row['ppl'] / base_ppl:.3f} | "
                     f"{kl} |")
    held = summary.get("held_out", [])
    if held and held[0]["ppl"]:
        sets = list(held[0]["ppl"])
        lines += ["", "## Held-out perplexity (text the run never trained or tuned on)", "",
                  "| model | " + " | ".join(f"{n} | × base" for n in sets) + " |",
                  "|---|" + "---:|---:|" * len(sets)]
        for row in held:
            lines.append(f"| {row['label']} | " + " | ".join(
                f"{row['ppl'][n]:.2f} | {row['ppl'][n] / held[0]['ppl'][n]:.3f}"
                for n in sets) + " |")
    if summary.get("mode", "distill") == "distill":
        names = {"stage1": "stage 1 (each block matches its MLP)", "stage2": "stage 2 (end to end)"}
        skipped = [text for key, text in names.items()
                   if not summary.get("config", {}).get(key, {}).get("steps", 1)]
        if skipped:
            lines += ["", f"Skipped (0 steps in the config): {', '.join(skipped)}."]
    errors = summary.get("layer_errors", {})
    if errors:
        lines += ["", "## Relative MSE of each liquid block against its MLP (validation)", "",
                  "| stage | " + " | ".join(f"layer {k}" for k in errors[0]["errors"]) + " |",
                  "|---|" + "---:|" * len(errors[0]["errors"])]
        for row in errors:
            lines.append(f"| {row['label']} | "
                         + " | ".join(f"{v:.3f}" for v in row["errors"].values()) + " |")
    lines += ["", "## Time", "", "| phase | seconds |", "|---|---:|"]
    for phase, seconds in summary["timings"].items():
        lines.append(f"| {phase} | {seconds:.1f} |")
    lines += ["", "## Samples (greedy)", ""]
    for sample in summary.get("samples", []):
        lines += [f"**Prompt:** {sample['prompt']}", ""]
        for label in ("base", "liquid"):
            text = sample[label].strip().replace("\n", " ")
            lines += [f"- *{label}:* {text}"]
        lines.append("")
    lines += ["![loss](loss.png)", "", "## Configuration", "", "```json",
              json.dumps(summary["config"], indent=2), "```", ""]
    report = run_dir / "report.md"
    write_text(report, "\n".join(lines))
    write_json(run_dir / "metrics.json", summary)
    return report


def perplexity_table(summary: dict[str, Any]) -> str:
    """The validation evaluations as a table, then the held-out one (care test, out of
    domain); ratios are to the first row (the base model, when there is one)."""
    base = summary["evaluations"][0]["ppl"]
    lines = [f"{'validation perplexity':28s} {'perplexity':>11s} {'x base':>8s}"]
    for row in summary["evaluations"]:
        lines.append(f"{row['label']:28s} {row['ppl']:11.2f} {row['ppl'] / base:8.3f}")
    held = held_out_table(summary.get("held_out", []))
    return "\n".join(lines) + ("\n\n" + held if held else "")
