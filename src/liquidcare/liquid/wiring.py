"""Wiring graphs come from ``ncps.wirings`` (reused, not rewritten); this module turns them into
the per-layer masks our fused layers need.

A wiring is a directed graph over neurons. ``FullyConnected`` links every neuron to every other;
``NCP`` (Neural Circuit Policy, Lechner et al. 2020) stacks sensory → inter → command → motor
layers with sparse synapses, recurrent links only among command neurons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from ncps import wirings as ncps_wirings

Wiring = ncps_wirings.Wiring


@dataclass(frozen=True)
class LayerMask:
    """One wiring layer seen by a CfC sub-cell: its width and which inputs may reach it.

    ``mask`` has shape (hidden, inputs + hidden): the sub-cell reads its inputs (the sensory
    features for layer 0, the previous layer's neurons otherwise) and, as in ``ncps``, its own
    neurons all-to-all.
    """

    hidden: int
    inputs: int
    mask: torch.Tensor


def build_wiring(wiring: Wiring, input_size: int) -> Wiring:
    """Builds ``wiring`` for ``input_size`` sensory features, with an error that names both."""
    if wiring.is_built() and wiring.input_dim != input_size:
        raise ValueError(
            f"the wiring was built for {wiring.input_dim} input features but the layer's "
            f"input_size is {input_size}"
        )
    if not wiring.is_built():
        wiring.build(input_size)
    return wiring


def layer_masks(wiring: Wiring) -> list[LayerMask]:
    """Per-layer input masks of a built wiring, in the order ``ncps`` runs its layers."""
    out = []
    inputs = wiring.input_dim
    for layer in range(wiring.num_layers):
        neurons = wiring.get_neurons_of_layer(layer)
        if layer == 0:
            sparsity = wiring.sensory_adjacency_matrix[:, neurons]
        else:
            previous = wiring.get_neurons_of_layer(layer - 1)
            sparsity = wiring.adjacency_matrix[:, neurons][previous, :]
        full = np.concatenate([sparsity, np.ones((len(neurons), len(neurons)))], axis=0)
        mask = torch.from_numpy(np.abs(full.T).astype(np.float32))
        out.append(LayerMask(hidden=len(neurons), inputs=inputs, mask=mask))
        inputs = len(neurons)
    return out


def make_wiring(kind: str, units: int, output_size: int, sparsity: float = 0.5, seed: int = 22222):
    """The wirings ``LiquidFFN`` offers by name: ``fc`` or ``ncp`` (an ``AutoNCP``)."""
    if kind == "fc":
        return ncps_wirings.FullyConnected(units, output_size)
    if kind == "ncp":
        if output_size >= units - 2:
            raise ValueError(
                f"an NCP wiring needs more units than motor neurons + 2 (units={units}, "
                f"motor neurons={output_size})"
            )
        return ncps_wirings.AutoNCP(units, output_size, sparsity_level=sparsity, seed=seed)
    raise ValueError(f"unknown wiring {kind!r}; choose one of ['fc', 'ncp']")
