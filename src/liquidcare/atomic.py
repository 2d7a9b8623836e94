"""One way to write a file so that a crash never leaves half of it: temp file + rename.

The temp file is made in the target's own folder (a rename is only atomic within one file
system), flushed and fsynced before `os.replace`, and removed if anything fails, so the old file
stays whole until the new one is complete. Every package writes checkpoints, adapters, reports,
exports and backups through these functions (invariant 5 of DESIGN.md: nothing lost).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_path(path: str | os.PathLike[str], mode: int = 0o644) -> Iterator[Path]:
    """Yields a temp path beside ``path``; when the block ends cleanly it becomes ``path``.

    For writers that want a file name rather than a file object (``torch.save``,
    ``safetensors.save_file``, ``fig.savefig``, ``sqlite3.connect``). ``mode`` is applied
    before the rename, so the file is never visible with wider permissions than asked for.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: folder {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, mode)
        with open(tmp_path, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_open(path: str | os.PathLike[str], text: bool = True, mode: int = 0o644
                ) -> Iterator[IO[Any]]:
    """An open file (text UTF-8, or bytes) whose content replaces ``path`` only when complete."""
    with atomic_path(path, mode=mode) as tmp:
        with open(tmp, "w" if text else "wb", **({"encoding": "utf-8"} if text else {})) as f:
            yield f
            f.flush()


def write_bytes(path: str | os.PathLike[str], data: bytes, mode: int = 0o644) -> Path:
    with atomic_open(path, text=False, mode=mode) as f:
        f.write(data)
    return Path(path)


def write_text(path: str | os.PathLike[str], text: str, mode: int = 0o644) -> Path:
    with atomic_open(path, mode=mode) as f:
        f.write(text)
    return Path(path)


def write_json(path: str | os.PathLike[str], data: Any, mode: int = 0o644, indent: int = 2
               ) -> Path:
    return write_text(path, json.dumps(data, indent=indent, ensure_ascii=False) + "\n", mode=mode)


def write_with(path: str | os.PathLike[str], writer: Callable[[Path], Any], mode: int = 0o644
               ) -> Path:
    """Calls ``writer(temp_path)`` (e.g. ``lambda p: torch.save(obj, p)``), then renames."""
    with atomic_path(path, mode=mode) as tmp:
        writer(tmp)
    return Path(path)


def save_safetensors(path: str | os.PathLike[str], tensors: dict[str, Any],
                     metadata: dict[str, str] | None = None) -> Path:
    from safetensors.torch import save_file

    return write_with(path, lambda p: save_file(tensors, str(p), metadata=metadata))
