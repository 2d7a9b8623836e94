"""Where base models come from (hub name, local folder, the embedded SmolLM2 GGUF)."""

from liquidcare.models.embedded import EMBEDDED_GGUF_NAME, embedded_gguf_path

__all__ = ["EMBEDDED_GGUF_NAME", "embedded_gguf_path"]
