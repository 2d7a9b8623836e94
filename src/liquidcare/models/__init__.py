"""Where base models come from: the embedded SmolLM2 GGUF, a local folder or .gguf, a hub id.

    from liquidcare.models import load_base
    model, tokenizer = load_base("smollm2")      # offline, converted once to safetensors

Importing this package stays cheap (no torch, no transformers): the names that need them are
loaded on first use through `__getattr__`, so `liquidcare --help` and `info` answer at once.
"""

from typing import TYPE_CHECKING

from liquidcare._lazy import lazy_getattr
from liquidcare.models.embedded import EMBEDDED_GGUF_NAME, EMBEDDED_NAME, embedded_gguf_path
from liquidcare.models.errors import ModelNotAvailableError
from liquidcare.models.paths import liquidcare_home

# name -> module that defines it; imported when the name is first asked for.
_LAZY = {
    "load_base": "liquidcare.models.load",
    "pull": "liquidcare.models.hub",
    "list_local": "liquidcare.models.local",
    "LocalModel": "liquidcare.models.local",
    "auto_device": "liquidcare.models.device",
    "resolve_device": "liquidcare.models.device",
    "resolve_dtype": "liquidcare.models.device",
}

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ does the work
    from liquidcare.models.device import auto_device, resolve_device, resolve_dtype
    from liquidcare.models.hub import pull
    from liquidcare.models.load import load_base
    from liquidcare.models.local import LocalModel, list_local


__getattr__ = lazy_getattr(__name__, globals(), _LAZY)


__all__ = [
    "EMBEDDED_GGUF_NAME",
    "EMBEDDED_NAME",
    "LocalModel",
    "ModelNotAvailableError",
    "auto_device",
    "embedded_gguf_path",
    "list_local",
    "liquidcare_home",
    "load_base",
    "pull",
    "resolve_device",
    "resolve_dtype",
]
