"""The embedded SmolLM2 GGUF, converted once to a safetensors folder that loads in about a second.

Dequantising the GGUF takes 15-40 s on a laptop CPU, every time. So the first `load_base()`
writes the float32 result under `<home>/models/smollm2/` and later calls load that.

The cache is trusted only when it is complete and matches the GGUF it came from:
- it is written into a temporary folder next to it and renamed into place as the last step, so a
  killed process leaves a `.smollm2.tmp-*` folder (ignored, cleaned up later), never a half cache;
- the manifest `liquidcare_cache.json` (GGUF name, size, mtime) is the last file written inside
  it; a missing or different manifest means "convert again" (e.g. after `pip install -U`);
- conversion runs under a file lock, so parallel test workers or two servers convert only once.

Only the conversion imports transformers; `cache_is_current()` is cheap for `liquidcare info`.
"""

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from liquidcare import __version__
from liquidcare.models.embedded import EMBEDDED_NAME, embedded_gguf_path
from liquidcare.models.paths import file_lock, models_dir, replace_dir

MANIFEST = "liquidcare_cache.json"
# Bump when the cache layout or the conversion changes, so that old caches get rebuilt.
CACHE_FORMAT = 1


def embedded_cache_dir() -> Path:
    """Where the converted embedded model lives (whether or not it exists yet)."""
    return models_dir() / EMBEDDED_NAME


def _gguf_identity(gguf: Path) -> dict[str, Any]:
    """What ties a cache to its GGUF: name, size and mtime are enough to notice a reinstall."""
    stat = gguf.stat()
    return {"gguf_file": gguf.name, "gguf_size": stat.st_size, "gguf_mtime_ns": stat.st_mtime_ns,
            "format": CACHE_FORMAT}


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a cache folder, or None when it is missing or unreadable."""
    try:
        return json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def cache_is_current(folder: Path | None = None, gguf: Path | None = None) -> bool:
    """True when `folder` holds a complete conversion of `gguf` (defaults: the embedded ones)."""
    folder = embedded_cache_dir() if folder is None else folder
    try:
        gguf = embedded_gguf_path() if gguf is None else gguf
    except FileNotFoundError:
        return False
    manifest = read_manifest(folder)
    if manifest is None or not (folder / "config.json").is_file():
        return False
    # Versions are recorded for people reading the file, not compared: a new transformers
    # reads old safetensors fine, and re-converting on every upgrade would cost 40 s for nothing.
    return all(manifest.get(k) == v for k, v in _gguf_identity(gguf).items())


def load_gguf(gguf: Path, dtype: Any = None) -> tuple[Any, Any]:
    """Dequantise a GGUF file with transformers into a model (float32 unless `dtype`) and tokenizer.

    transformers keeps a `GgufHfQuantizer` and a `quantization_config` on the model even though
    the weights are plain float32 tensors by now. `save_pretrained` refuses such a model, and
    code that checks `hf_quantizer` (Trainer, PEFT) would treat it as quantized, so both go.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=dtype or torch.float32
    )
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    return model, tokenizer


def save_converted(model: Any, tokenizer: Any, folder: Path) -> None:
    """Write model and tokenizer as a plain HF folder (safetensors)."""
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def _write_manifest(folder: Path, gguf: Path) -> None:
    import transformers

    manifest = {**_gguf_identity(gguf), "liquidcare_version": __version__,
                "transformers_version": transformers.__version__, "created": time.time()}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def _make_readable(folder: Path) -> None:
    """mkdtemp makes the folder private (0700) and transformers writes its shards 0600; public
    model weights in a LIQUIDCARE_HOME shared by a centre's service accounts should be readable."""
    folder.chmod(0o755)
    for file in folder.iterdir():
        if file.is_file():
            file.chmod(0o644)


def _remove_leftovers(parent: Path, name: str) -> None:
    """Temp folders of conversions that were killed; safe to delete while we hold the lock."""
    for pattern in (f".{name}.tmp-*", f".{name}.old-*"):
        for leftover in parent.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)


def ensure_embedded_cache() -> Path:
    """The converted embedded model's folder, converting the GGUF first if needed."""
    gguf = embedded_gguf_path()
    final = embedded_cache_dir()
    if cache_is_current(final, gguf):  # the common case: no lock, no transformers import here
        return final
    with file_lock(EMBEDDED_NAME):
        if cache_is_current(final, gguf):  # another process converted while we waited
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(final.parent, final.name)
        print(f"converting the embedded SmolLM2 GGUF once to {final} (15-40 s; later loads take "
              "about a second) ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
        try:
            model, tokenizer = load_gguf(gguf)
            save_converted(model, tokenizer, tmp)
            _write_manifest(tmp, gguf)  # last file in: a folder without it is never trusted
            _make_readable(tmp)
            replace_dir(tmp, final)
        except BaseException:  # KeyboardInterrupt too: leave nothing half-written behind
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        print(f"converted in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return final
