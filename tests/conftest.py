import re
from pathlib import Path

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


@pytest.fixture(scope="session")
def embedded_home(request, tmp_path_factory) -> Path:
    """A LIQUIDCARE_HOME kept in pytest's cache folder (.pytest_cache, git-ignored).

    The embedded model's conversion then happens once per checkout instead of once per run, and
    the tests never write to the user's real ~/.cache/liquidcare. `make clean` removes it.
    """
    pytest_cache = getattr(request.config, "cache", None)
    if pytest_cache is None:  # pytest -p no:cacheprovider
        return tmp_path_factory.mktemp("embedded-home")
    return Path(pytest_cache.mkdir("liquidcare-home"))


@pytest.fixture(scope="session")
def embedded_smollm2(embedded_home):
    """The embedded SmolLM2 (model, tokenizer), loaded once per session; deepcopy before
    changing it."""
    from liquidcare.models import load_base

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LIQUIDCARE_HOME", str(embedded_home))
        return load_base("smollm2", device="cpu")


# Store fixtures on both engines (`store_url`, `postgres_cluster`): see tests/pg.py.
from pg import postgres_cluster, store_url  # noqa: E402, F401
