"""Where liquidcare keeps its files, and the lock that keeps two processes from clashing there.

Stays free of torch and transformers: `liquidcare info` and `models list` read these paths.
"""

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:  # POSIX only; without it (Windows) we run unlocked rather than not at all
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]


def liquidcare_home() -> Path:
    """`$LIQUIDCARE_HOME`, else `~/.cache/liquidcare` (read each call, so tests can redirect it)."""
    env = os.environ.get("LIQUIDCARE_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "liquidcare"


def models_dir() -> Path:
    """Converted and pulled models live here, one folder each."""
    return liquidcare_home() / "models"


def hub_folder(repo_id: str) -> Path:
    """The folder `pull` fills for a hub id: `org/name` becomes `org--name`, as in the HF cache."""
    return models_dir() / repo_id.replace("/", "--")


@contextmanager
def file_lock(name: str) -> Iterator[None]:
    """Hold an exclusive `flock` on `<home>/locks/<name>.lock` for the duration of the block.

    flock (rather than "the lock file exists") is released by the kernel when the process dies,
    so a killed conversion never leaves a stale lock behind.
    """
    lock_dir = liquidcare_home() / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_dir / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                print(f"waiting for another liquidcare process to finish with {name} ...",
                      file=sys.stderr, flush=True)
                fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last descriptor drops the lock


def replace_dir(new: Path, final: Path) -> None:
    """Rename folder `new` to `final`, replacing any old `final`.

    A folder cannot be renamed over a non-empty one, so the old one is first moved aside, then
    deleted. A crash in between leaves no folder (the caller redoes its work), never a mix.
    """
    if final.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
        os.replace(final, old / final.name)
        os.replace(new, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, final)
