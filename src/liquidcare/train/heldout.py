"""The figures a run is judged by: perplexity on text it could not have memorised.

Validation steers a run (and the learning-rate sweeps); the final table scores the base model and
the trained model, in the same run, on

- the corpus's **test** split (for the bundled care corpus: documents composed from a held-out
  part of its bank, sharing no word 8-gram with train — see `liquidcare.data.corpus.holdout`);
- **out-of-domain** prose (`general-dev`, general English and Spanish text with no care in it):
  what share of the base model's general ability the liquid blocks keep.

Each set gets one teacher pass before surgery (only the stream entering the first replaced block
and the final hidden state are kept, not the per-MLP caches) so the base figure costs nothing
afterwards and the liquid model runs only the blocks it changed.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from .activations import Activations, Shard, capture
from .corpus import corpus_blocks
from .evaluation import evaluate
from .finetune import lm_perplexity

TEST_LABEL = "care test"
OOD_LABEL = "out of domain"


def held_out_blocks(config: Any, tokenizer) -> dict[str, Tensor]:
    """Name → packed blocks of the sets the run is scored on at the end (possibly none).

    ``config.test_split``: "auto" is the care corpus's test split when the corpus is the bundled
    care corpus, else none; a split name scores that split of ``config.corpus``; None skips it.
    ``config.ood_corpus``: a corpus spec scored as the out-of-domain set, or None."""
    from liquidcare.data.load import CARE_SPECS

    sets: dict[str, Tensor] = {}
    split = config.test_split
    if split == "auto":
        split = "test" if config.corpus in CARE_SPECS else None
    if split is not None:
        label = TEST_LABEL if config.corpus in CARE_SPECS else f"{config.corpus} {split}"
        sets[label] = corpus_blocks(config.corpus, split, tokenizer, config.block_size,
                                    config.max_test_tokens)
    if config.ood_corpus:
        # short documents: a block of 128 holds about one paragraph, so nothing is lost to
        # packing beyond the last partial block
        sets[OOD_LABEL] = corpus_blocks(config.ood_corpus, "validation", tokenizer,
                                        config.block_size, config.max_test_tokens)
    return sets


def capture_held_out(model: nn.Module, sets: dict[str, Tensor], liquid_cfg, world,
                     show: bool) -> dict[str, Activations]:
    """One teacher pass per set (the unmodified base model), without the per-MLP caches."""
    return {name: capture(model, blocks, liquid_cfg, progress=show, world=world,
                          mlp_rows=0) for name, blocks in sets.items()}


def score_cached(model: nn.Module, acts: dict[str, Activations],
                 teacher: bool = False) -> dict[str, float]:
    """Perplexity per set from the cached stream (``teacher``: the base model's own). The
    table reports perplexity only, so the KL to the teacher is not computed."""
    return {name: evaluate(model, a, teacher=teacher, kl=False)["ppl"]
            for name, a in acts.items()}


def score_full(model: nn.Module, sets: dict[str, Tensor], world,
               precision: str = "fp32") -> dict[str, float]:
    """Perplexity per set of the whole model on the token ids (fine-tuning: no cache)."""
    return {name: lm_perplexity(model, Shard.of(blocks, world), precision=precision)["ppl"]
            for name, blocks in sets.items()}


def held_out_table(rows: list[dict[str, Any]]) -> str:
    """``rows`` = [{"label", "ppl": {set: value}}, ...]; ratios are to the first row."""
    if not rows or not rows[0]["ppl"]:
        return ""
    names = list(rows[0]["ppl"])
    head = f"{'held-out perplexity':28s}" + "".join(f" {n:>14s} {'x base':>7s}" for n in names)
    lines = [head]
    for row in rows:
        cells = "".join(f" {row['ppl'][n]:14.2f} {row['ppl'][n] / rows[0]['ppl'][n]:7.3f}"
                        for n in names)
        lines.append(f"{row['label']:28s}{cells}")
    return "\n".join(lines)
