import re

import pytest
import torch


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def ncps_to_ours_name(ncps_module: torch.nn.Module, name: str) -> str:
    """Maps an ``ncps.torch.CfC`` parameter name to ours (see `CfC.from_ncps`)."""
    name = re.sub(r"^rnn_cell\.layer_(\d+)\.", r"cells.\1.", name)
    name = name.replace("rnn_cell.", "cells.0.")
    m = re.match(r"(cells\.\d+\.backbone\.)(\d+)(\..*)", name)
    if m:
        linear_ids = [
            k for k, mod in enumerate(ncps_module.rnn_cell.backbone)
            if isinstance(mod, torch.nn.Linear)
        ]
        name = m.group(1) + str(linear_ids.index(int(m.group(2)))) + m.group(3)
    return name


def max_grad_diff(loss_a, params_a, loss_b, params_b) -> float:
    ga = torch.autograd.grad(loss_a, params_a)
    gb = torch.autograd.grad(loss_b, params_b)
    return max((a - b).abs().max().item() for a, b in zip(ga, gb, strict=True))
