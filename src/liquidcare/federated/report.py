"""A federated run's report: `report.md` (per-round perplexity of every centre and of all their
validation data pooled, bytes sent) and `perplexity.png` (one line per centre, one global)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from liquidcare.atomic import write_text
from liquidcare.train.report import save_figure


def _rounds(state: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    return sorted((int(k), v) for k, v in state.get("rounds", {}).items())


def plot_perplexity(state: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and in CI
    import matplotlib.pyplot as plt

    rounds = _rounds(state)
    clients = sorted({c for _, row in rounds for c in row["clients"]}, key=int)
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for client in clients:
        points = [(r, row["clients"][client]["val_ppl"]) for r, row in rounds
                  if "val_ppl" in row["clients"].get(client, {})]
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", lw=1.2, label=f"centre {client}")
    points = [(r, row["global_val_ppl"]) for r, row in rounds if "global_val_ppl" in row]
    if points:
        ax.plot(*zip(*points, strict=True), marker="s", lw=2.2, color="black", label="global")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("round")
    ax.set_ylabel("validation perplexity")
    ax.set_title("Federated training: validation perplexity per centre")
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    save_figure(fig, path)


def write_report(out: Path, state: dict[str, Any]) -> Path:
    cfg = state["config"]
    rounds = _rounds(state)
    clients = sorted({c for _, row in rounds for c in row["clients"]}, key=int)
    lines = [
        f"# Federated run `{out.name}`",
        "",
        f"Model `{cfg['model']}`, preset `{cfg['preset']}` (layers {cfg['layers']}), strategy "
        f"`{cfg['strategy']}`, aggregation `{cfg.get('aggregation', 'mean')}`, update clipping "
        f"`{cfg.get('update-clip', 'none')}`, differential privacy `{cfg['dp']}`, corpus "
        f"`{cfg['corpus']}`, "
        f"{cfg['local-steps']} local steps per round (batch {cfg['batch-size']}, blocks of "
        f"{cfg['block-size']} tokens). Rounds finished: {state['round']} of {cfg['rounds']}.",
        f"Liquid parameters (all that crosses the wire): {state['liquid_params']:,} of "
        f"{state['total_params']:,} ({100 * state['liquid_params'] / state['total_params']:.2f}%).",
        "",
        "## Validation perplexity",
        "",
        "| round | " + " | ".join(f"centre {c}" for c in clients) + " | global (pooled) |",
        "|---:|" + "---:|" * (len(clients) + 1),
    ]
    for r, row in rounds:
        cells = [f"{row['clients'][c]['val_ppl']:.2f}" if "val_ppl" in row["clients"].get(c, {})
                 else "-" for c in clients]
        glob = f"{row['global_val_ppl']:.2f}" if "global_val_ppl" in row else "-"
        lines.append(f"| {r} | " + " | ".join(cells) + f" | {glob} |")
    lines += ["", "## Training (per centre: LM loss at the first and last local step, bytes "
              "sent, the norm of its update and the factor the server's clipping scaled it by)",
              "", "| round | centre | loss first | loss last | bytes sent | × full model | "
              "update norm | clipped to |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r, row in rounds:
        for c in clients:
            client = row["clients"].get(c, {})
            if "train_loss" not in client:
                continue
            sent = client.get("bytes_sent", 0)
            norm = f"{client['update_norm']:.4g}" if "update_norm" in client else "-"
            scale = f"× {client['update_scale']:.3g}" if "update_scale" in client else "-"
            lines.append(f"| {r} | {c} | {client['train_loss_first']:.4f} | "
                         f"{client['train_loss']:.4f} | {sent:,} | "
                         f"{sent / state['full_model_bytes']:.4f} | {norm} | {scale} |")
        if row.get("failures"):
            lines.append(f"| {r} | | {row['failures']} centre(s) failed; aggregated: "
                         f"{row.get('aggregated')} | | | | | |")
    lines += ["", "![perplexity per round](perplexity.png)", ""]
    path = write_text(out / "report.md", "\n".join(lines))
    if any("val_ppl" in c for _, row in rounds for c in row["clients"].values()):
        plot_perplexity(state, out / "perplexity.png")
    return path
