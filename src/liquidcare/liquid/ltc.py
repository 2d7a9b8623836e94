"""Liquid time-constant (LTC) networks — Hasani et al., "Liquid time-constant networks",
AAAI 2021 (arXiv 2006.04439).

Each neuron is a leaky membrane whose synapses open with a sigmoid of the presynaptic potential,
so the time constant itself depends on the input ("liquid"):

    C_m dv_j/dt = g_l (v_l − v_j) + Σ_i W_ij s_ij (E_ij − v_j),   s_ij = sigmoid(σ_ij (v_i − μ_ij))

solved with K unfolds of a fused Euler step per input step (`_ltc_fused.LTCScan`). `LTC` takes
the arguments of ``ncps.torch.LTC`` and computes the same function for the same weights
(`LTC.from_ncps`); its backward recomputes synapse activations instead of storing them, so that
memory grows with the state, not with time × unfolds × units².
"""

from __future__ import annotations

import numpy as np
import torch
from ncps import wirings as ncps_wirings
from torch import Tensor, nn

from ._common import check_choice, check_positive_int, derived
from ._ltc_fused import LTCScan
from .base import LiquidSequence
from .lstm import MixedMemoryLSTM
from .wiring import Wiring, build_wiring

MAPPINGS = ("affine", "linear", "none")

# Initial ranges of the LTC parameters (uniform), as in the LTC reference code.
INIT_RANGES = {
    "gleak": (0.001, 1.0), "vleak": (-0.2, 0.2), "cm": (0.4, 0.6),
    "w": (0.001, 1.0), "sigma": (3.0, 8.0), "mu": (0.3, 0.8),
    "sensory_w": (0.001, 1.0), "sensory_sigma": (3.0, 8.0), "sensory_mu": (0.3, 0.8),
}


class LTC(LiquidSequence):
    """An LTC sequence layer with the arguments of ``ncps.torch.LTC``; output = motor neurons."""

    def __init__(
        self,
        input_size: int,
        units: int | Wiring,
        return_sequences: bool = True,
        batch_first: bool = True,
        mixed_memory: bool = False,
        input_mapping: str = "affine",
        output_mapping: str = "affine",
        ode_unfolds: int = 6,
        epsilon: float = 1e-8,
        implicit_param_constraints: bool = True,
    ) -> None:
        super().__init__()
        self.input_size = check_positive_int("input_size", input_size)
        self.ode_unfolds = check_positive_int("ode_unfolds", ode_unfolds)
        self.input_mapping = check_choice("input_mapping", input_mapping, MAPPINGS)
        self.output_mapping = check_choice("output_mapping", output_mapping, MAPPINGS)
        if not epsilon >= 0:
            raise ValueError(f"epsilon must be >= 0, got {epsilon}")
        self.epsilon = float(epsilon)
        self.return_sequences = return_sequences
        self.batch_first = batch_first
        self.mixed_memory = mixed_memory
        self.implicit_param_constraints = implicit_param_constraints
        if isinstance(units, Wiring):
            wiring = units
        else:
            wiring = ncps_wirings.FullyConnected(check_positive_int("units", units))
        self.wiring = build_wiring(wiring, input_size)
        self.state_size = self.wiring.units
        self.output_size = self.wiring.output_dim
        H, S = self.state_size, input_size

        def init(shape, name):
            lo, hi = INIT_RANGES[name]
            return nn.Parameter(torch.rand(*shape) * (hi - lo) + lo)

        self.gleak = init((H,), "gleak")
        self.vleak = init((H,), "vleak")
        self.cm = init((H,), "cm")
        self.sigma = init((H, H), "sigma")
        self.mu = init((H, H), "mu")
        self.w = init((H, H), "w")
        self.erev = nn.Parameter(torch.tensor(self.wiring.erev_initializer(), dtype=torch.float32))
        self.sensory_sigma = init((S, H), "sensory_sigma")
        self.sensory_mu = init((S, H), "sensory_mu")
        self.sensory_w = init((S, H), "sensory_w")
        self.sensory_erev = nn.Parameter(
            torch.tensor(self.wiring.sensory_erev_initializer(), dtype=torch.float32)
        )
        adjacency = np.abs(self.wiring.adjacency_matrix).astype(np.float32)
        sensory = np.abs(self.wiring.sensory_adjacency_matrix).astype(np.float32)
        self.register_buffer("sparsity_mask", torch.from_numpy(adjacency))
        self.register_buffer("sensory_sparsity_mask", torch.from_numpy(sensory))
        self.input_w = nn.Parameter(torch.ones(S)) if input_mapping != "none" else None
        self.input_b = nn.Parameter(torch.zeros(S)) if input_mapping == "affine" else None
        M = self.output_size
        self.output_w = nn.Parameter(torch.ones(M)) if output_mapping != "none" else None
        self.output_b = nn.Parameter(torch.zeros(M)) if output_mapping == "affine" else None
        self.lstm = MixedMemoryLSTM(input_size, H) if mixed_memory else None

    # --- parameters as the solver sees them -----------------------------------------------------
    def _positive(self, p: Tensor) -> Tensor:
        return nn.functional.softplus(p) if self.implicit_param_constraints else p

    def apply_weight_constraints(self) -> None:
        """Explicit constraints (implicit_param_constraints=False): clip to ≥ 0 after each step."""
        if not self.implicit_param_constraints:
            with torch.no_grad():
                for p in (self.w, self.sensory_w, self.cm, self.gleak):
                    p.clamp_(min=0)

    def _solver_tensors(self) -> list[Tensor]:
        sources = [self.sparsity_mask, self.sensory_sparsity_mask, *self.parameters()]
        return derived(self, "solver", self._compute_solver_tensors, sources)

    def _compute_solver_tensors(self) -> list[Tensor]:
        w = self._positive(self.w) * self.sparsity_mask
        sw = self._positive(self.sensory_w) * self.sensory_sparsity_mask
        return [self.sigma, self.mu, w, w * self.erev,
                self.sensory_sigma, self.sensory_mu, sw, sw * self.sensory_erev]

    def _map_inputs(self, x: Tensor) -> Tensor:
        if self.input_w is not None:
            x = x * self.input_w
        if self.input_b is not None:
            x = x + self.input_b
        return x

    def _readout(self, v: Tensor) -> Tensor:
        y = v[..., : self.output_size]  # ncps numbers the motor neurons first
        if self.output_w is not None:
            y = y * self.output_w
        if self.output_b is not None:
            y = y + self.output_b
        return y

    def _cm_t(self, ts: Tensor | None, T: int, B: int) -> Tensor:
        cm = self._positive(self.cm)
        if ts is None:
            return (cm / (1.0 / self.ode_unfolds)).expand(T, B, -1)
        return cm / (ts / self.ode_unfolds)

    # --- the recurrence ----------------------------------------------------------------------
    def _sequence(self, x: Tensor, v: Tensor, c: Tensor | None, ts: Tensor | None):
        V, v, c = self._solve(x.transpose(0, 1), v, c, ts)
        return V.transpose(0, 1), v, c

    def _advance(self, x_t: Tensor, v: Tensor, c: Tensor | None, ts: Tensor | None):
        _, v, c = self._solve(x_t.unsqueeze(0), v, c, None if ts is None else ts.unsqueeze(0))
        return v, c

    def _solve(self, x_tm: Tensor, v: Tensor, c: Tensor | None, ts: Tensor | None):
        """x_tm (time, batch, in) → potentials (time, batch, H) and the final (v, c)."""
        T, B = x_tm.shape[0], x_tm.shape[1]
        mapped = self._map_inputs(x_tm)
        tensors = self._solver_tensors()
        cm_t = self._cm_t(ts, T, B)
        gl = self._positive(self.gleak)
        if self.lstm is None:
            V = LTCScan.apply(self.ode_unfolds, self.epsilon, mapped, v, cm_t, gl, self.vleak,
                              *tensors)
            return V, V[-1], None
        # The memory cell rewrites the state before every step: run the fused solver one step
        # at a time (still storing no synapse tensors).
        outs = []
        for t in range(T):
            v, c = self.lstm(x_tm[t], (v, c))
            v = LTCScan.apply(self.ode_unfolds, self.epsilon, mapped[t : t + 1], v,
                              cm_t[t : t + 1], gl, self.vleak, *tensors)[0]
            outs.append(v)
        return torch.stack(outs), v, c

    @classmethod
    def from_ncps(cls, module: nn.Module) -> LTC:
        """An `LTC` that computes what the given ``ncps.torch.LTC`` computes (weights copied)."""
        from ncps.torch import LTC as NcpsLTC

        if not isinstance(module, NcpsLTC):
            raise TypeError(f"from_ncps expects an ncps.torch.LTC, got {type(module).__name__}")
        cell = module.rnn_cell
        ours = cls(module.input_size, module._wiring, module.return_sequences, module.batch_first,
                   module.use_mixed, cell._input_mapping, cell._output_mapping, cell._ode_unfolds,
                   cell._epsilon, cell._implicit_param_constraints)
        with torch.no_grad():
            for name, p in cell._params.items():
                getattr(ours, name).copy_(p)
            if ours.lstm is not None:
                ours.lstm.load_state_dict(module.lstm.state_dict())
        return ours
