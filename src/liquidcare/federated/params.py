"""What crosses the wire: the liquid parameters of a model, by name, and nothing else.

A care centre sends back only the tensors that `liquid_state_dict` names (the liquid blocks, and
the norms of liquified layers when ``train_norms``), never the frozen base weights — a few percent
of the model — and the server refuses to load any other name or shape into a model.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from flwr.app import ArrayRecord
from torch import nn

from liquidcare.surgery import liquid_state_dict

from .config import FederatedConfigError


class WireError(FederatedConfigError):
    """Arrays received do not match the model's liquid parameters."""


def liquid_arrays(model: nn.Module) -> ArrayRecord:
    """The model's liquid parameters as a Flower ArrayRecord (float32 numpy, fixed order)."""
    state = OrderedDict((name, tensor.detach().to("cpu", torch.float32).clone())
                        for name, tensor in sorted(liquid_state_dict(model).items()))
    return ArrayRecord(torch_state_dict=state)


def arrays_to_tensors(arrays: ArrayRecord) -> dict[str, torch.Tensor]:
    return dict(arrays.to_torch_state_dict())


def load_arrays(model: nn.Module, arrays: ArrayRecord | dict[str, torch.Tensor]) -> None:
    """Copy received liquid parameters into ``model``; any other name or shape is refused."""
    tensors = arrays if isinstance(arrays, dict) else arrays_to_tensors(arrays)
    expected = liquid_state_dict(model)
    unknown = sorted(set(tensors) - set(expected))
    missing = sorted(set(expected) - set(tensors))
    if unknown or missing:
        raise WireError(f"arrays do not match the model's liquid parameters: unexpected "
                        f"{unknown[:5]}, missing {missing[:5]}")
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in tensors.items():
            if tuple(value.shape) != tuple(params[name].shape):
                raise WireError(f"{name}: shape {tuple(value.shape)}, the model has "
                                f"{tuple(params[name].shape)}")
            params[name].copy_(value.to(params[name].device, params[name].dtype))


def arrays_bytes(arrays: ArrayRecord) -> int:
    """Payload bytes of the tensors in an ArrayRecord."""
    return sum(len(array.data) for array in arrays.values())
