"""Turning the user's `device=` and `dtype=` words into torch objects, with errors that say why."""

import os

import torch

DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
}


def _default_cuda() -> torch.device:
    """`cuda` with its index made explicit. Under torchrun each process takes its own GPU
    (LOCAL_RANK, as transformers' device_map="cuda" does), so `.to(device)` after loading cannot
    pull every rank's model back onto GPU 0."""
    index = os.environ.get("LOCAL_RANK")
    return torch.device("cuda", int(index) if index else torch.cuda.current_device())


def auto_device() -> torch.device:
    """The device that `device="auto"` picks: the GPU when torch can see one, else the CPU."""
    return _default_cuda() if torch.cuda.is_available() else torch.device("cpu")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """`"auto"`, `"cpu"`, `"cuda"`, `"cuda:1"`, `"mps"` or a torch.device -> torch.device.

    Asking for a GPU that is not there fails here, naming it, instead of deep inside `.to()`.
    """
    if isinstance(device, str) and device.strip().lower() == "auto":
        return auto_device()
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(
            f"unknown device {device!r}: use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"
        ) from None
    if resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"device {device!r} asked for, but torch sees no CUDA GPU here")
        if resolved.index is None:
            resolved = _default_cuda()
        if resolved.index >= count:
            raise ValueError(f"device {device!r} asked for, but torch sees only {count} GPU(s)")
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {device!r} asked for, but MPS is not available here")
    return resolved


def resolve_dtype(
    dtype: str | torch.dtype | None = None, device: str | torch.device = "auto"
) -> torch.dtype:
    """None/`"auto"`, `"float32"`/`"fp32"`, `"bfloat16"`/`"bf16"`, `"float16"`/`"fp16"` or a dtype.

    Auto means bfloat16 on a CUDA GPU that supports it (half the memory, the range of float32)
    and float32 everywhere else: CPUs gain little from bfloat16 matmuls and lose precision, and
    float16's narrow range makes training the liquid layers fragile.
    """
    if isinstance(dtype, torch.dtype):
        if not dtype.is_floating_point:
            raise ValueError(f"dtype {dtype} is not a floating-point type")
        return dtype
    if dtype is None or (isinstance(dtype, str) and dtype.strip().lower() == "auto"):
        dev = resolve_device(device)
        if dev.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    key = dtype.strip().lower() if isinstance(dtype, str) else None
    if key not in DTYPES:
        choices = ", ".join(["auto", *DTYPES])
        raise ValueError(f"unknown dtype {dtype!r}: choose one of {choices} (or a torch.dtype)")
    return DTYPES[key]
