"""The memory cell that ``mixed_memory=True`` puts in front of a liquid cell (Lechner & Hasani,
"Learning long-term dependencies in irregularly-sampled time series", arXiv 2006.04418): an LSTM
whose output replaces the liquid state before each step, giving gradients a path that does not
vanish through the ODE."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class MixedMemoryLSTM(nn.Module):
    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_map = nn.Linear(input_size, 4 * hidden_size)
        self.recurrent_map = nn.Linear(hidden_size, 4 * hidden_size, bias=False)
        nn.init.xavier_uniform_(self.input_map.weight)
        nn.init.uniform_(self.input_map.bias, -0.1, 0.1)
        nn.init.orthogonal_(self.recurrent_map.weight)

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        h, c = state
        i, ig, fg, og = (self.input_map(x) + self.recurrent_map(h)).chunk(4, dim=1)
        # +1 on the forget gate: start by remembering (Jozefowicz et al. 2015).
        c = c * torch.sigmoid(fg + 1.0) + torch.tanh(i) * torch.sigmoid(ig)
        h = torch.tanh(c) * torch.sigmoid(og)
        return h, c
