"""A low-rank adapter on the attention projections of the liquified decoder blocks (LoLCATs).

Replacing a block's MLP leaves an error that the liquid block alone does not always close; a
small trainable correction to the same block's attention can absorb part of it (Zhang et al.
2024, "LoLCATs", arXiv 2410.10254: attention swapped, LoRA on the rest). Each target projection
W becomes

    y = W x + b + (alpha / r) · B A x        A: (r, in), B: (out, r), B = 0 at init

so the model's outputs are exactly the base model's until B moves. Hand-written rather than
PEFT's: its tensors live in our adapter file (`adapter.py`) beside the liquid weights, by their
names in the model, and the frozen W keeps its own name (``…q_proj.weight``), so the base model's
state dict stays a subset of the liquified model's.

Only the blocks whose MLP was replaced get one: the blocks before them stay the teacher's
exactly, which is what lets distillation start from the cached stream entering the first
liquified block (`liquidcare.train.suffix`).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .config import LiquidConfigError
from .targets import Target

LORA_PARAMS = ("lora_A", "lora_B")


def _is_conv1d(module: nn.Module) -> bool:
    """transformers' GPT-2 `Conv1D`: a linear map with its weight stored (in, out)."""
    weight = getattr(module, "weight", None)
    return (type(module).__name__ == "Conv1D" and hasattr(module, "nf")
            and isinstance(weight, Tensor) and weight.dim() == 2)


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` (or GPT-2 ``Conv1D``) plus a trainable rank-``r`` update.

    The base's weight and bias are registered here under their own names (the same Parameter
    objects, not copies), so ``q_proj.weight`` is still ``q_proj.weight``.
    """

    def __init__(self, base: nn.Module, r: int, alpha: float) -> None:
        super().__init__()
        if isinstance(base, nn.Linear):
            in_features, out_features = base.in_features, base.out_features
            self.transposed = False
        elif _is_conv1d(base):
            in_features, out_features = base.weight.shape
            self.transposed = True
        else:
            raise LiquidConfigError(
                f"attention_lora wraps nn.Linear or GPT-2 Conv1D projections, not "
                f"{type(base).__name__}")
        self.in_features, self.out_features = in_features, out_features
        self.r, self.alpha, self.scale = r, alpha, alpha / r
        self.weight = base.weight
        self.bias = base.bias
        self.weight.requires_grad_(False)
        if self.bias is not None:
            self.bias.requires_grad_(False)
        like = {"device": base.weight.device, "dtype": base.weight.dtype}
        self.lora_A = nn.Parameter(torch.empty(r, in_features, **like))
        # B = 0: the update starts at zero, so the model starts as the one it wraps
        self.lora_B = nn.Parameter(torch.zeros(out_features, r, **like))
        # PEFT's init for A: small and random, so B's gradient is not zero at step 0
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))

    def base_forward(self, x: Tensor) -> Tensor:
        if self.transposed:  # exactly Conv1D.forward
            out = torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight)
            return out.reshape(*x.shape[:-1], self.out_features)
        return F.linear(x, self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        update = F.linear(F.linear(x, self.lora_A), self.lora_B)
        return self.base_forward(x) + self.scale * update

    def extra_repr(self) -> str:
        kind = "Conv1D" if self.transposed else "Linear"
        return (f"{kind}({self.in_features} -> {self.out_features}), r={self.r}, "
                f"alpha={self.alpha:g}")


def _matches(relative: str, patterns: list[str]) -> bool:
    return any(relative == p or relative.endswith("." + p) for p in patterns)


def add_attention_lora(model: nn.Module, targets: list[Target], spec: dict[str, Any]) -> list[str]:
    """Wrap the ``spec["targets"]`` projections of the decoder blocks that hold ``targets`` (the
    liquified MLPs) in `LoRALinear`; returns the wrapped modules' names.

    A name matches the end of a module's path inside its block (``"c_proj"`` matches GPT-2's
    ``attn.c_proj``); nothing inside the liquified MLP's own slot is wrapped (with
    ``placement="parallel"`` the frozen MLP's ``c_proj`` sits there). A block where nothing
    matches is an error that lists the block's linear modules, so the right names can be given.
    """
    patterns = list(spec["targets"])
    chosen: list[tuple[str, nn.Module]] = []
    for target in targets:
        prefix = target.name.rpartition(".")[0]
        found, linear = [], []
        for name, module in model.named_modules():
            if not name.startswith(prefix + ".") or name == target.name or \
                    name.startswith(target.name + "."):
                continue
            relative = name[len(prefix) + 1:]
            if isinstance(module, nn.Linear) or _is_conv1d(module):
                linear.append(relative)
            if _matches(relative, patterns):
                found.append((name, module))
        if not found:
            raise LiquidConfigError(
                f"attention_lora: no module named {patterns} in decoder block {prefix!r} of "
                f"{type(model).__name__}; its linear modules (outside the MLP) are {linear}. "
                f"Name them with attention_lora={{'targets': [...]}}")
        chosen.extend(found)
    for name, module in chosen:
        if isinstance(module, LoRALinear):
            raise LiquidConfigError(f"attention_lora: {name} already carries a LoRA")
        if not (isinstance(module, nn.Linear) or _is_conv1d(module)):
            raise LiquidConfigError(
                f"attention_lora: {name} of {type(model).__name__} is a {type(module).__name__}, "
                "not a Linear or Conv1D projection; name the projections inside it")
    for name, module in chosen:
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name), child,
                LoRALinear(module, spec["r"], spec["alpha"]))
    return [name for name, _ in chosen]


def lora_modules(model: nn.Module) -> dict[str, LoRALinear]:
    """The attention LoRAs of a model, by module name."""
    return {name: m for name, m in model.named_modules() if isinstance(m, LoRALinear)}


def lora_parameter_names(model: nn.Module) -> list[str]:
    """The names of every LoRA A and B tensor of the model (what an adapter carries for them)."""
    return [f"{name}.{p}" for name in lora_modules(model) for p in LORA_PARAMS]
