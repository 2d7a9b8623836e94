"""Decoding settings that keep a small model from looping, and where each model's defaults live.

A 135M model decoded greedily with no repetition control falls into a loop within a few dozen
tokens ("sleep problems like sleep problems like ..."). Three controls stop that, each applied to
the *reply only*: the prompt of a grounded answer holds the knowledge-base passages, and a control
that also counted the prompt (as transformers' own repetition penalty and no-repeat n-gram
processors do) would forbid the model to repeat the very words it should build on.

* ``repetition_penalty`` (CTRL, Keskar et al. 2019): the logit of a token already in the reply is
  divided by the penalty when positive, multiplied when negative.
* ``no_repeat_ngram_size`` n: a token that would complete an n-gram the reply already holds is
  forbidden.
* ``frequency_penalty`` / ``presence_penalty`` (OpenAI's API): the logit of token j is lowered by
  ``count_j * frequency_penalty + (count_j > 0) * presence_penalty``, counting j in the reply.

All three are functions of the token ids alone, so generation with a KV cache and generation that
recomputes the prefix see the same scores and pick the same tokens.

Per-model defaults come from a table (`MODEL_DEFAULTS`, shipped as `configs/decoding.yaml`; a test
keeps the two equal). A request's own values win; the engine fills in the rest.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch

from liquidcare.errors import UserError


class DecodingConfigError(UserError):
    """A decoding config file or value that cannot be used."""


@dataclass(frozen=True)
class DecodingDefaults:
    """What a request that does not say gets. The class defaults are plain decoding (greedy, no
    repetition control): the behaviour of an engine built around a bare model object."""

    temperature: float = 0.0  # 0: greedy, deterministic
    top_p: float = 1.0
    top_k: int = 0  # 0: off
    repetition_penalty: float = 1.0  # 1: off
    no_repeat_ngram_size: int = 0  # 0: off
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    # tokens that end the assistant's turn besides the model's eos (chat templates' markers)
    stop_tokens: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check("temperature", self.temperature, 0.0, 2.0)
        _check("top_p", self.top_p, 0.0, 1.0, low_open=True)
        _check("top_k", self.top_k, 0, 10_000)
        _check("repetition_penalty", self.repetition_penalty, 1.0, 3.0)
        _check("no_repeat_ngram_size", self.no_repeat_ngram_size, 0, 20)
        _check("frequency_penalty", self.frequency_penalty, -2.0, 2.0)
        _check("presence_penalty", self.presence_penalty, -2.0, 2.0)
        if isinstance(self.stop_tokens, list):
            object.__setattr__(self, "stop_tokens", tuple(self.stop_tokens))
        if not all(isinstance(s, str) and s for s in self.stop_tokens):
            raise DecodingConfigError("stop_tokens must be a list of non-empty strings")


def _check(name: str, value: Any, low: float, high: float, low_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DecodingConfigError(f"decoding setting {name!r} must be a number, got {value!r}")
    if value > high or value < low or (low_open and value == low):
        bracket = "(" if low_open else "["
        raise DecodingConfigError(f"decoding setting {name!r} must be in {bracket}{low}, {high}]"
                                  f", got {value}")


# SmolLM2's model card samples at temperature 0.2, top_p 0.9; the repetition controls are ours,
# chosen on benchmarks/data/replies_dev.jsonl (benchmarks/replies.py).
_CHATML_STOPS = ("<|im_end|>", "<|im_start|>", "<|endoftext|>")
MODEL_DEFAULTS: dict[str, DecodingDefaults] = {
    "default": DecodingDefaults(temperature=0.0, repetition_penalty=1.15,
                                no_repeat_ngram_size=4),
    "smollm2": DecodingDefaults(temperature=0.2, top_p=0.9, repetition_penalty=1.15,
                                no_repeat_ngram_size=4, stop_tokens=_CHATML_STOPS),
}

CONFIG_FILE = Path(__file__).resolve().parents[3] / "configs" / "decoding.yaml"


def parse_decoding(data: Any, source: str = "<dict>") -> dict[str, DecodingDefaults]:
    """`{model_key: {setting: value}}` (YAML) into defaults; unknown keys are errors."""
    if not isinstance(data, dict) or not data:
        raise DecodingConfigError(f"{source}: expected a mapping of model names to settings")
    known = {f.name for f in fields(DecodingDefaults)}
    out: dict[str, DecodingDefaults] = {}
    for key, settings in data.items():
        if not isinstance(settings, dict):
            raise DecodingConfigError(f"{source}: {key!r} must map setting names to values")
        unknown = set(settings) - known
        if unknown:
            raise DecodingConfigError(f"{source}: {key!r} has unknown setting(s) "
                                      f"{', '.join(sorted(unknown))} (known: "
                                      f"{', '.join(sorted(known))})")
        try:
            out[str(key).lower()] = DecodingDefaults(**settings)
        except DecodingConfigError as err:
            raise DecodingConfigError(f"{source}: {key!r}: {err}") from None
    if "default" not in out:
        raise DecodingConfigError(f"{source}: needs a 'default' entry for other models")
    return out


def load_decoding(path: str | Path) -> dict[str, DecodingDefaults]:
    import yaml

    path = Path(path)
    if not path.is_file():
        raise DecodingConfigError(f"decoding config {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise DecodingConfigError(f"decoding config {path} is not valid YAML: {err}") from None
    return parse_decoding(data, str(path))


def as_yaml_dict(table: dict[str, DecodingDefaults]) -> dict[str, dict[str, Any]]:
    out = {}
    for key, d in table.items():
        values = asdict(d)
        values["stop_tokens"] = list(values["stop_tokens"])
        out[key] = values
    return out


def model_key(name_or_dir: str) -> str:
    """The name a model's defaults are filed under: an adapter's base model, lower-cased."""
    from liquidcare.surgery.adapter import is_adapter_dir, read_adapter_config

    path = Path(str(name_or_dir))
    for candidate in (path, path / "adapter"):
        try:
            if is_adapter_dir(candidate):
                return str(read_adapter_config(candidate)["base_model"]).lower()
        except OSError:
            break
    return str(name_or_dir).lower()


def defaults_for(name_or_dir: str, table: dict[str, DecodingDefaults] | None = None
                 ) -> DecodingDefaults:
    """The first table key found in the model's name (``smollm2`` in
    ``HuggingFaceTB/SmolLM2-135M-Instruct``), else the table's ``default``."""
    table = MODEL_DEFAULTS if table is None else table
    key = model_key(name_or_dir)
    for name, value in table.items():
        if name != "default" and name in key:
            return value
    return table["default"]


@dataclass
class ReplyPenalties:
    """One logits processor for the three repetition controls, over the reply's tokens only.

    ``prompt_len`` is where the reply starts in ``input_ids`` (generate() hands the processor the
    prompt plus what it has generated so far)."""

    prompt_len: int
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    _counts: Any = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        return (self.repetition_penalty != 1.0 or self.no_repeat_ngram_size > 0
                or self.frequency_penalty != 0.0 or self.presence_penalty != 0.0)

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        reply = input_ids[:, self.prompt_len:]
        if reply.shape[1] == 0:
            return scores
        scores = scores.clone()
        counts = torch.zeros_like(scores)
        counts.scatter_add_(1, reply, torch.ones_like(reply, dtype=scores.dtype))
        seen = counts > 0
        if self.repetition_penalty != 1.0:
            # CTRL: shrink a seen token's score towards "less likely" whatever its sign
            penalised = torch.where(scores > 0, scores / self.repetition_penalty,
                                    scores * self.repetition_penalty)
            scores = torch.where(seen, penalised, scores)
        if self.frequency_penalty or self.presence_penalty:
            scores = scores - counts * self.frequency_penalty \
                - seen.to(scores.dtype) * self.presence_penalty
        n = self.no_repeat_ngram_size
        if n > 0 and reply.shape[1] >= n:
            scores = _ban_ngrams(reply, scores, n)
        return scores


def _ban_ngrams(reply: torch.Tensor, scores: torch.Tensor, n: int) -> torch.Tensor:
    for row in range(reply.shape[0]):
        ids = reply[row].tolist()
        prefix = tuple(ids[len(ids) - n + 1:]) if n > 1 else ()
        banned = [ids[i + n - 1] for i in range(len(ids) - n + 1)
                  if tuple(ids[i:i + n - 1]) == prefix]
        if banned:
            scores[row, banned] = float("-inf")
    return scores
