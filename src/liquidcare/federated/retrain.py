"""Retraining from users' ratings in one care centre: LM loss on the good replies, then KTO.

A thumbs up or down on one assistant reply is exactly KTO's unpaired signal (Ethayarajh et al.
2024, arXiv 2402.01306): each rated reply is "desirable" or "undesirable" on its own, with no
paired alternative. The store exports them as TRL's unpaired-preference rows
(``prompt``/``completion``/``label``, see `liquidcare.feedback` `export_training_set`), which
TRL's `KTOTrainer` takes as they are.

    1. LM     next-token loss on the good replies (label true), the supervised step the KTO
              paper runs before alignment; completion-only: the prompt (system prompt, the
              users' words) is context the model reads, never a target it learns to write
    2. KTO    TRL's `KTOTrainer` on every rated reply, the reference being the model after step 1
              (TRL scores the completion only, the same split)

Which rows: a store export for one consent scope (`liquidcare store export --scope ...`; every
row names it). `liquidcare retrain` reads ``research_retraining``; a federated centre's ratings
file must be a ``federated`` export, so a person who consented to their own centre's retraining
only never trains the federation's adapter.

`KTOTrainer` works on a liquified model unchanged: the frozen base weights have
``requires_grad=False`` so only liquid parameters move, and ``precompute_ref_log_probs=True``
scores the reference once up front, so no second copy of the model is held. bf16 autocast is
off: the fused CfC kernels compute in the weights' dtype. The desirable/undesirable weights are
set so that ``w_D n_D = w_U n_U`` (the paper's advice for imbalanced thumbs).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from liquidcare.atomic import write_json, write_text
from liquidcare.data.tokens import _ids, dialogue_ids, tokenize_documents
from liquidcare.errors import UserError
from liquidcare.train.evaluation import IGNORE_INDEX, scored_tokens

from .centre import Shard, first_liquid_layer, stream_into, train_lm

RETRAIN_SCOPE = "research_retraining"  # `liquidcare retrain`: this centre's own model
FEDERATED_SCOPE = "federated"  # a federated centre's ratings (see feedback/consent.py)


class TrainingSetError(UserError):
    """An exported training set (JSONL) is missing, malformed or empty."""


def read_training_rows(path: str | os.PathLike[str],
                       scope: str = RETRAIN_SCOPE) -> list[dict[str, Any]]:
    """The rows of a store export for consent ``scope``, checked: prompt and completion are
    chat messages, label a bool, the row exported for ``scope``. Errors name the file, the line
    and the field."""
    path = Path(path)
    if not path.is_file():
        raise TrainingSetError(f"{path}: no such training-set file")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise TrainingSetError(f"{path}:{number}: bad JSON ({err.msg})") from None
        for field in ("prompt", "completion"):
            value = row.get(field) if isinstance(row, dict) else None
            if not isinstance(value, list) or not value or not all(
                    isinstance(m, dict) and isinstance(m.get("content"), str) and m.get("role")
                    for m in value):
                raise TrainingSetError(f"{path}:{number}: field {field!r}: expected a list of "
                                       "chat messages")
        if row["completion"][-1]["role"] != "assistant":
            raise TrainingSetError(f"{path}:{number}: field 'completion': the last message "
                                   "must be the assistant's")
        if not isinstance(row.get("label"), bool):
            raise TrainingSetError(f"{path}:{number}: field 'label': expected true or false")
        if row.get("scope") != scope:
            # consent is given per use: a row exported for another one was not consented to
            # for this one
            found = "none" if row.get("scope") is None else repr(row.get("scope"))
            raise TrainingSetError(f"{path}:{number}: field 'scope': exported for {found}, "
                                   f"this training needs {scope!r} (write it with `liquidcare "
                                   f"store export --scope {scope}`)")
        rows.append(row)
    if not rows:
        raise TrainingSetError(f"{path}: no rated replies in it")
    return rows


def good_conversations(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The good replies (label true) with their prompts, for the LM step."""
    return [{"prompt": row["prompt"], "completion": row["completion"]}
            for row in rows if row["label"]]


def _context_ids(prompt: list[dict[str, str]], tokenizer) -> list[int]:
    """The prompt as the model read it before replying: with the chat template's generation
    prompt (SmolLM2's ``<|im_start|>assistant\n``), which the model did not write either."""
    if getattr(tokenizer, "chat_template", None):
        return _ids(tokenizer.apply_chat_template(prompt, tokenize=True,
                                                  add_generation_prompt=True,
                                                  return_dict=False))
    return dialogue_ids(prompt, tokenizer)


def completion_example(row: dict[str, Any], tokenizer) -> tuple[list[int], int]:
    """(the token ids of the whole dialogue, how many leading ones are context): the ids are
    those of LM training (chat template, eos after), the context the longest prefix they share
    with the prompt alone. A shared prefix rather than a length: a template that renders the
    prompt's last turn differently once a reply follows leaves the differing tokens to the
    completion instead of shifting the split."""
    ids = tokenize_documents([{"messages": row["prompt"] + row["completion"]}], tokenizer)[0]
    context = _context_ids(row["prompt"], tokenizer)
    shared = 0
    for a, b in zip(ids, context, strict=False):
        if a != b:
            break
        shared += 1
    return ids, shared


def completion_blocks(examples: list[tuple[list[int], int]], block_size: int,
                      pad_id: int) -> tuple[Tensor, Tensor]:
    """One block per dialogue (so each reply is read after its own prompt, never after the end
    of another dialogue) and its labels: ``IGNORE_INDEX`` on the context and the padding.

    Blocks are as long as the longest dialogue, at most ``block_size``, padded on the right
    (causal: padding after a token changes nothing before it, in attention or in the liquid
    state). A longer dialogue keeps its completion whole when it fits and as much of the
    prompt before it as fits (the prompt's start is cut); a completion longer than a block
    keeps its start. Dialogues with nothing to learn (no completion token) are left out."""
    length = max(2, min(block_size, max(len(ids) for ids, _ in examples)))
    blocks, labels = [], []
    for ids, context in examples:
        if context >= len(ids):
            continue
        # at least the last context token stays, so the first reply token has a prediction
        start = max(0, min(len(ids) - length, context - 1))
        window = ids[start:start + length]
        target = [i if start + k >= context else IGNORE_INDEX for k, i in enumerate(window)]
        pad = length - len(window)
        blocks.append(window + [pad_id] * pad)
        labels.append(target + [IGNORE_INDEX] * pad)
    if not blocks:
        raise TrainingSetError("no good reply has a token to learn from (each one's text is "
                               "empty after the chat template)")
    return torch.tensor(blocks, dtype=torch.long), torch.tensor(labels, dtype=torch.long)


def conversation_shard(model: nn.Module, tokenizer, docs: list[dict[str, Any]],
                       block_size: int) -> Shard | None:
    """The good replies as a completion-only shard: each dialogue one block, its labels
    ``IGNORE_INDEX`` except on the reply's tokens, and the frozen stream into the first liquid
    block computed over the whole block (the prompt is read, only the reply is scored)."""
    if not docs:
        return None
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None \
        else tokenizer.eos_token_id
    blocks, labels = completion_blocks([completion_example(d, tokenizer) for d in docs],
                                       block_size, pad_id)
    first = first_liquid_layer(model)
    start = stream_into(model, blocks, first)
    return Shard(blocks, blocks, first, start, start, train_labels=labels, val_labels=labels)


def kto_train(model: nn.Module, tokenizer, rows: list[dict[str, Any]], steps: int,
              beta: float = 0.1, lr: float = 5e-5, batch_size: int = 4,
              progress: bool = False) -> dict[str, float]:
    """``steps`` steps of TRL's KTOTrainer on the rated replies; returns its loss on those rows
    before and after (same precomputed reference)."""
    from datasets import Dataset
    from trl import KTOConfig, KTOTrainer

    if len(rows) < 2:
        raise TrainingSetError("KTO needs at least 2 rated replies (its KL estimate pairs "
                               "each reply with another one's prompt)")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    good = sum(1 for r in rows if r["label"])
    bad = len(rows) - good
    data = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"],
                               "label": bool(r["label"])} for r in rows])
    device = next(model.parameters()).device
    with tempfile.TemporaryDirectory(prefix="liquidcare-kto-") as tmp:
        args = KTOConfig(
            output_dir=tmp, max_steps=steps, learning_rate=lr, beta=beta,
            per_device_train_batch_size=max(2, min(batch_size, len(rows))),
            per_device_eval_batch_size=max(2, min(batch_size, len(rows))),
            desirable_weight=1.0, undesirable_weight=(good / bad) if good and bad else 1.0,
            precompute_ref_log_probs=True, bf16=False, fp16=False,
            # TRL turns activation checkpointing on by default; with it, KTO on a liquified
            # SmolLM2 failed in the checkpoint's recomputation (torch's message points to
            # pytorch#166926). Only the liquid blocks keep activations for backward anyway.
            gradient_checkpointing=False,
            use_cpu=device.type == "cpu", report_to=[], save_strategy="no",
            logging_steps=1, disable_tqdm=not progress, seed=0,
        )
        trainer = KTOTrainer(model=model, args=args, train_dataset=data, eval_dataset=data,
                             processing_class=tokenizer)
        before = trainer.evaluate()["eval_loss"]
        trainer.train()
        after = trainer.evaluate()["eval_loss"]
    model.eval()
    return {"kto_loss_before": float(before), "kto_loss_after": float(after),
            "desirable": good, "undesirable": bad}


def retrain_from_rows(model: nn.Module, tokenizer, rows: list[dict[str, Any]],
                      lm_steps: int = 20, kto_steps: int = 20, lr: float = 1e-3,
                      kto_lr: float = 5e-5, beta: float = 0.1, batch_size: int = 4,
                      block_size: int = 256, seed: int = 0,
                      progress: bool = False) -> dict[str, Any]:
    """Both steps on the rows of a store export; the model is changed in place (liquid
    parameters only). Returns what happened, for the report."""
    torch.manual_seed(seed)
    summary: dict[str, Any] = {"rows": len(rows)}
    shard = conversation_shard(model, tokenizer, good_conversations(rows), block_size)
    if shard is not None and lm_steps > 0:
        losses = train_lm(model, shard, lm_steps, lr, min(batch_size, shard.train.shape[0]),
                          seed=seed)
        summary["lm_loss_first"], summary["lm_loss_last"] = losses[0], losses[-1]
        summary["lm_completion_tokens"] = scored_tokens(shard.train_labels)
    if kto_steps > 0 and len(rows) >= 2:
        summary.update(kto_train(model, tokenizer, rows, kto_steps, beta, kto_lr, batch_size,
                                 progress))
    return summary


def _write_report(out: Path, summary: dict[str, Any]) -> None:
    lines = [f"# Retraining `{summary['version']}` from ratings", "",
             f"Started from `{summary['parent']}`; {summary['rows']} rated replies "
             f"({summary.get('desirable', '-')} good, {summary.get('undesirable', '-')} bad) from "
             f"`{summary['store']}`.", "", "| step | before | after |", "|---|---:|---:|"]
    if "lm_loss_first" in summary:
        lines.append(f"| LM loss on the good replies' {summary['lm_completion_tokens']} tokens "
                     "(completion only; first/last step) | "
                     f"{summary['lm_loss_first']:.4f} | {summary['lm_loss_last']:.4f} |")
    if "kto_loss_before" in summary:
        lines.append(f"| KTO loss on the rated replies | {summary['kto_loss_before']:.4f} | "
                     f"{summary['kto_loss_after']:.4f} |")
    lines.append("")
    write_text(out / "report.md", "\n".join(lines))
    write_json(out / "retrain.json", summary)


def retrain(model: str, store: str, out: str, lm_steps: int = 20, kto_steps: int = 20,
            lr: float = 1e-3, kto_lr: float = 5e-5, beta: float = 0.1, batch_size: int = 4,
            block_size: int = 256, device: str = "auto", force: bool = False,
            progress: bool = True) -> dict[str, Any]:
    """`liquidcare retrain`: export the store's rated replies, train (LM + KTO), save the new
    adapter as OUT/adapter (a new version, `model_version`), and record in the store which
    replies it learnt from. The export is written to a temporary folder and removed."""
    from liquidcare.feedback import open_store
    from liquidcare.surgery import is_adapter_dir, load_model, model_version, save_liquid

    source = Path(model)
    if not (is_adapter_dir(source) or is_adapter_dir(source / "adapter")):
        raise TrainingSetError(f"--model {model}: not a run or adapter directory; retraining "
                               "continues a liquid adapter (make one with `liquidcare demo` or "
                               "`liquidcare train`)")
    target = Path(out)
    if target.resolve() == source.resolve():
        raise TrainingSetError("--out must differ from --model: the old version stays as it was")
    if (target / "adapter").exists() and not force:
        raise TrainingSetError(f"{target / 'adapter'} exists; pass --force to replace it")
    if "://" not in store and not Path(store).is_file():
        raise TrainingSetError(f"--store {store}: no such store file")
    with open_store(store, create=False) as db, \
            tempfile.TemporaryDirectory(prefix="liquidcare-retrain-") as tmp:
        count = db.export_training_set(Path(tmp) / "rated.jsonl")
        if count == 0:
            # rated replies without consent are not "no ratings": say what the operator can do
            missing = db.without_consent("research_retraining")
            if missing:
                raise TrainingSetError(
                    f"{store} has {missing} rated repl{'y' if missing == 1 else 'ies'} but none "
                    "with the consent to research_retraining of both the user and the person "
                    "cared for: nothing to learn from (see `liquidcare store consent`)")
            raise TrainingSetError(f"{store} has no rated replies yet: nothing to learn from")
        rows = read_training_rows(Path(tmp) / "rated.jsonl")
        net, tokenizer = load_model(str(source), device=device)
        summary = retrain_from_rows(net, tokenizer, rows, lm_steps=lm_steps, kto_steps=kto_steps,
                                    lr=lr, kto_lr=kto_lr, beta=beta, batch_size=batch_size,
                                    block_size=block_size, progress=progress)
        target.mkdir(parents=True, exist_ok=True)
        save_liquid(net, target / "adapter")
        version = model_version(target)
        db.record_training(version, [row["message_id"] for row in rows])
    summary.update(version=version, parent=model_version(source), store=store,
                   adapter=str(target / "adapter"))
    _write_report(target, summary)
    return summary
