"""What models this machine already has (`liquidcare models list`), without loading any."""

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from liquidcare.models.cache import cache_is_current, embedded_cache_dir
from liquidcare.models.embedded import EMBEDDED_NAME, embedded_gguf_path
from liquidcare.models.paths import models_dir

Kind = Literal["embedded", "pulled", "hf-cache"]


@dataclass(frozen=True)
class LocalModel:
    """One model on disk. `name` is what to pass to `load_base`; `size` is bytes under `path`.

    `converted` only matters for the embedded model: True when its safetensors cache exists and
    matches the GGUF (the next load is fast). `path` is None when the embedded package is missing.
    """

    name: str
    path: Path | None
    kind: Kind
    size: int
    converted: bool = False


def _tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def _embedded() -> LocalModel:
    try:
        gguf = embedded_gguf_path()
    except FileNotFoundError:
        return LocalModel(EMBEDDED_NAME, None, "embedded", 0)
    return LocalModel(EMBEDDED_NAME, gguf, "embedded", gguf.stat().st_size, cache_is_current())


def _pulled() -> list[LocalModel]:
    root = models_dir()
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(root.iterdir()):
        # Skip temp/partial folders (not complete) and the embedded model's cache (listed above).
        if folder.name.startswith(".") or folder.name.endswith(".partial"):
            continue
        if folder == embedded_cache_dir() or not (folder / "config.json").is_file():
            continue
        found.append(LocalModel(folder.name.replace("--", "/", 1), folder, "pulled",
                                _tree_size(folder)))
    return found


def _hf_cache() -> list[LocalModel]:
    try:
        from huggingface_hub import scan_cache_dir

        info = scan_cache_dir()
    except Exception:  # no cache folder yet, unreadable, or no huggingface_hub: nothing to list
        return []
    return [LocalModel(repo.repo_id, Path(repo.repo_path), "hf-cache", repo.size_on_disk)
            for repo in sorted(info.repos, key=lambda r: r.repo_id) if repo.repo_type == "model"]


def list_local() -> list[LocalModel]:
    """The embedded model, models pulled into `liquidcare_home()/models`, and the HF cache's."""
    return [_embedded(), *_pulled(), *_hf_cache()]
