"""Mixed precision for training: which precision a device gets, and the autocast that applies it.

The weights and the optimizer always stay float32; only the forward pass runs in bf16/fp16."""

from __future__ import annotations

from contextlib import nullcontext

import torch

from liquidcare.surgery import LiquidConfigError

PRECISIONS = {"auto", "fp32", "bf16", "fp16"}


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto``: bf16 autocast on a CUDA device that has it, else fp32. fp16 (with loss
    scaling) only on CUDA: CPUs have no fast fp16 and its narrow range needs the scaler."""
    if precision not in PRECISIONS:
        raise LiquidConfigError(f"precision {precision!r}: use one of {sorted(PRECISIONS)}")
    cuda = device.type == "cuda"
    if precision == "auto":
        return "bf16" if cuda and torch.cuda.is_bf16_supported() else "fp32"
    if precision == "fp16" and not cuda:
        raise LiquidConfigError("precision fp16 needs a CUDA device; on a CPU use bf16 or fp32")
    return precision


def autocast(precision: str, device: torch.device):
    """Mixed precision for the forward pass: the weights and the optimizer stay float32."""
    if precision == "fp32":
        return nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device.type, dtype=dtype)
