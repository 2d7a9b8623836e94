"""`liquify(model, LiquidConfig(...))`: swap a causal LM's MLPs for liquid blocks, in place.

Like PEFT's `get_peft_model` the base model is frozen and modules are replaced by walking
`named_modules()`; unlike a PEFT wrapper, the result is still the same `transformers` model
object, so `generate`, `save_pretrained`-free adapters (see `adapter.py`), `Trainer` and the
tokenizer's chat template all keep working unchanged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from liquidcare.liquid import LiquidFFN

from .config import LiquidConfig
from .decoding import LiquidRuntime
from .lora import add_attention_lora, lora_parameter_names
from .targets import find_mlps, hidden_size

INFO_ATTR = "liquid_info"


class LiquidMLP(nn.Module):
    """What sits where the MLP was.

    ``placement="replace"``: y = liquid(x). ``placement="parallel"``: y = mlp(x) + liquid(x), with
    the MLP frozen and the liquid out-projection starting at zero, so y = mlp(x) at step 0.
    """

    def __init__(
        self, liquid: LiquidFFN, layer: int, runtime: LiquidRuntime, mlp: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.liquid = liquid
        self.layer = layer
        self.mlp = mlp
        # the runtime is shared by every block of the model; it is not a submodule
        object.__setattr__(self, "_runtime", runtime)

    def forward(self, x: Tensor) -> Tensor:
        y = self._runtime.run(self.layer, self.liquid, x)
        if self.mlp is not None:
            y = self.mlp(x) + y
        return y

    def extra_repr(self) -> str:
        return f"layer={self.layer}, placement={'parallel' if self.mlp is not None else 'replace'}"


@dataclass
class LiquidInfo:
    """Attached to a liquified model as ``model.liquid_info``: what was done to it."""

    config: LiquidConfig
    base_model: str
    base_fingerprint: str
    d_model: int
    targets: list[str]
    runtime: LiquidRuntime = field(repr=False)
    lora_targets: list[str] = field(default_factory=list)  # attention projections with a LoRA


def base_model_id(model: nn.Module) -> str:
    """Where the base model came from (set by `liquidcare.models.load_base`), else its path."""
    config = getattr(model, "config", None)
    for key in ("liquidcare_base", "_name_or_path", "name_or_path"):
        value = getattr(config, key, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__


def fingerprint(model: nn.Module, samples: int = 256) -> str:
    """A short hash that tells base models apart without hashing every weight.

    Names, shapes and a fixed sample of each parameter's values (rounded to bfloat16, so the same
    model loaded in float32 or bfloat16 gives the same fingerprint) go into SHA-256. Reading every
    weight of a 7B model would take minutes; the sample takes milliseconds and still changes when
    any tensor is retrained or swapped.
    """
    digest = hashlib.sha256()
    for name, p in sorted(model.named_parameters(), key=lambda item: item[0]):
        digest.update(f"{name}:{tuple(p.shape)};".encode())
        flat = p.detach().reshape(-1)
        k = min(samples, flat.numel())
        # integer spacing: float linspace loses the last index of tensors with > 2**24 values
        index = torch.arange(k, device=flat.device) * (flat.numel() - 1) // max(k - 1, 1)
        values = flat[index].to(torch.bfloat16).to(torch.float32).cpu()
        digest.update(values.numpy().tobytes())
    return digest.hexdigest()[:16]


def _build_block(config: LiquidConfig, d_model: int, zero_init: bool) -> LiquidFFN:
    return LiquidFFN(
        d_model,
        cell=config.cell,
        wiring=config.wiring,
        units=config.units,
        mode=config.mode,
        in_features=config.in_features,
        motor_neurons=config.motor_neurons,
        zero_init=zero_init,
        linear_skip=config.linear_skip,
        **config.cell_options,
    )


def _set_submodule(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)


def _norms_of(model: nn.Module, layer_prefixes: list[str]) -> list[nn.Module]:
    norms = []
    for name, module in model.named_modules():
        if "norm" in type(module).__name__.lower() and any(
            name.startswith(prefix + ".") for prefix in layer_prefixes
        ):
            norms.append(module)
    return norms


def is_liquified(model: nn.Module) -> bool:
    return isinstance(getattr(model, INFO_ATTR, None), LiquidInfo)


def liquify(model: nn.Module, config: LiquidConfig | None = None) -> nn.Module:
    """Replace (or flank) the MLPs that ``config`` selects with liquid blocks; freeze the base.

    Returns the same model object, liquified in place. The new blocks take the dtype and device
    of the MLP they replace.
    """
    config = config or LiquidConfig()
    if is_liquified(model):
        raise ValueError("this model is already liquified; load a fresh base model first")
    d_model = hidden_size(model)
    targets = find_mlps(model, config)
    base_fp = fingerprint(model)
    runtime = LiquidRuntime()

    for p in model.parameters():
        p.requires_grad_(False)
    for target in targets:
        ref = next(target.module.parameters(), None)
        block = _build_block(config, d_model, zero_init=config.placement == "parallel")
        if ref is not None:
            block.to(device=ref.device, dtype=ref.dtype)
        mlp = target.module if config.placement == "parallel" else None
        _set_submodule(model, target.name, LiquidMLP(block, target.layer, runtime, mlp))
    if config.train_norms:
        prefixes = [t.name.rpartition(".")[0] for t in targets]
        for norm in _norms_of(model, prefixes):
            for p in norm.parameters():
                p.requires_grad_(True)
    lora_targets = (add_attention_lora(model, targets, config.attention_lora)
                    if config.attention_lora else [])

    runtime.attach(model, stateful=config.mode == "sequence")
    info = LiquidInfo(
        config=config,
        base_model=base_model_id(model),
        base_fingerprint=base_fp,
        d_model=d_model,
        targets=[t.name for t in targets],
        runtime=runtime,
        lora_targets=lora_targets,
    )
    object.__setattr__(model, INFO_ATTR, info)
    return model


def liquid_blocks(model: nn.Module) -> dict[str, LiquidMLP]:
    """The liquid blocks of a liquified model, by module name."""
    return {name: m for name, m in model.named_modules() if isinstance(m, LiquidMLP)}


def liquid_state_dict(model: nn.Module) -> dict[str, Tensor]:
    """The parameters an adapter carries: every trainable parameter (liquid blocks, the
    attention LoRAs' A and B, and norms when ``train_norms``), by their names in the model."""
    if not is_liquified(model):
        raise ValueError("not a liquified model: call liquify(model, config) first")
    wanted = set()
    for name in liquid_blocks(model):
        wanted.add(name + ".liquid.")
    lora = set(lora_parameter_names(model))
    state = {}
    for name, p in model.named_parameters():
        if p.requires_grad or name in lora or any(name.startswith(prefix) for prefix in wanted):
            state[name] = p.detach()
    return state


@dataclass(frozen=True)
class ParameterSummary:
    trainable: int
    total: int

    @property
    def percent(self) -> float:
        return 100.0 * self.trainable / max(self.total, 1)

    def __str__(self) -> str:
        return (
            f"trainable params: {self.trainable:,} || all params: {self.total:,} || "
            f"trainable%: {self.percent:.4f}"
        )


def trainable_summary(model: nn.Module, verbose: bool = True) -> ParameterSummary:
    """Trainable and total parameter counts (printed, like PEFT's `print_trainable_parameters`)."""
    params = {id(p): p for p in model.parameters()}.values()
    summary = ParameterSummary(
        trainable=sum(p.numel() for p in params if p.requires_grad),
        total=sum(p.numel() for p in params),
    )
    if verbose:
        print(summary)
    return summary
