"""Fetching models from the Hugging Face hub for offline use (`liquidcare models pull NAME`).

Care centres often run without network. So a model is pulled once, on any machine with network,
into `<home>/models/<org>--<name>/` (a plain HF folder that can be copied to another machine),
and `load_base(NAME)` prefers that folder over everything else.

huggingface_hub retries a failed connection for about 25 s before giving up. A short probe of
the hub first makes the offline case fail in seconds, with a message that says what to do.
"""

import os
import re
import sys
import urllib.error
import urllib.request
from pathlib import Path

from liquidcare.models.errors import ModelNotAvailableError
from liquidcare.models.paths import file_lock, hub_folder, replace_dir

PROBE_TIMEOUT_S = 5.0
# What a model needs to load: config, tokenizer (json/txt/sentencepiece/tiktoken/jinja), weights,
# and the license and model card that many licenses ask to keep next to the weights.
FILE_PATTERNS = (r".*\.json", r".*\.model", r".*\.txt", r".*\.jinja", r".*\.tiktoken",
                 r"LICENSE.*", r"README\.md", r"NOTICE.*", r"USE_POLICY\.md")
SAFETENSORS = r".*\.safetensors"
PYTORCH_BIN = r"pytorch_model.*\.bin"
# `org/name` or `name`: letters, digits, '-', '_', '.'; what the hub itself accepts.
HUB_ID = re.compile(r"^(?:[\w.-]+/)?[\w.-]+$")


def is_hub_id(name: str) -> bool:
    """Whether `name` can be a hub id (at most one '/', no path-like start)."""
    return bool(HUB_ID.match(name)) and not name.startswith((".", "-")) and ".." not in name


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def offline_mode() -> bool:
    """The user switched the hub off (`HF_HUB_OFFLINE=1`): never try the network then."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def hub_reachable(timeout: float = PROBE_TIMEOUT_S) -> bool:
    """One HEAD request to the hub. Any HTTP answer (even an error status) means we are online."""
    if offline_mode():
        return False
    request = urllib.request.Request(hub_endpoint(), method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):  # URLError, DNS failure, timeout, refused, bad endpoint
        return False


def offline_message(name: str) -> str:
    """What to tell the user when `name` is not here and the hub cannot be reached."""
    why = ("HF_HUB_OFFLINE is set" if offline_mode()
           else f"cannot reach the Hugging Face hub ({hub_endpoint()}); this machine seems offline")
    return (
        f"model {name!r} is not available offline: {why}. Run `liquidcare models pull {name}` "
        f"on a machine with network and copy the folder {hub_folder(name)} to the same place "
        "here (under $LIQUIDCARE_HOME), or pass the path of a local model folder instead."
    )


def _choose_files(files: list[str]) -> list[str]:
    """Top-level files only (skips onnx/, original/, ... copies), safetensors over .bin."""
    top = [f for f in files if "/" not in f]
    weights = [f for f in top if re.fullmatch(SAFETENSORS, f)]
    if not weights:
        weights = [f for f in top if re.fullmatch(PYTORCH_BIN, f)]
    rest = [f for f in top if any(re.fullmatch(p, f) for p in FILE_PATTERNS)]
    return sorted(set(rest + weights))


def pull(name: str, revision: str | None = None) -> Path:
    """Download hub model `name` (config, tokenizer, weights) into `<home>/models/<org>--<name>`.

    Returns that folder. Written atomically: the download goes to `<folder>.partial` (resumed by
    the next pull if interrupted) and is renamed into place only when complete, so `load_base`
    never sees half a model. Raises ModelNotAvailableError when offline or the name is unknown.
    """
    if not is_hub_id(name):
        raise ModelNotAvailableError(f"{name!r} is not a hub id (expected 'org/name' or 'name')")
    if not hub_reachable():
        raise ModelNotAvailableError(offline_message(name))

    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    final = hub_folder(name)
    partial = final.with_name(final.name + ".partial")
    try:
        files = _choose_files(HfApi().list_repo_files(name, revision=revision))
        if not any(f.endswith((".safetensors", ".bin")) for f in files):
            raise ModelNotAvailableError(f"hub model {name!r} has no weights we can load "
                                         "(no top-level *.safetensors or pytorch_model*.bin)")
        with file_lock(final.name):
            final.parent.mkdir(parents=True, exist_ok=True)
            # A previous pull stays usable until the new one is complete (a re-pull downloads
            # again rather than risk a working model on a dropped connection).
            print(f"pulling {name} ({len(files)} files) into {final} ...", file=sys.stderr,
                  flush=True)
            snapshot_download(name, revision=revision, local_dir=partial, allow_patterns=files)
            replace_dir(partial, final)
    except GatedRepoError:
        raise ModelNotAvailableError(
            f"hub model {name!r} is gated: accept its license on {hub_endpoint()}/{name} and log "
            "in (`hf auth login`), then pull again") from None
    except RepositoryNotFoundError:
        raise ModelNotAvailableError(
            f"no model {name!r} on the Hugging Face hub (or it is private): check the name"
        ) from None
    except RevisionNotFoundError:
        raise ModelNotAvailableError(f"hub model {name!r} has no revision {revision!r}") from None
    except ModelNotAvailableError:
        raise
    except Exception as err:  # network dropped mid-way, disk full, ...: say it in one line
        raise ModelNotAvailableError(
            f"pulling {name!r} failed: {err}. Run the same command again to resume.") from err
    return final
