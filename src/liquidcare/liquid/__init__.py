"""The liquid neural network core: CfC and LTC cells (FC or NCP wiring), the liquid scan, and
`LiquidFFN`, the drop-in replacement for a transformer's MLP. Torch and ``ncps.wirings`` only."""

from .cfc import CfC, CfCCell
from .ffn import LiquidFFN
from .ltc import LTC
from .scan import LinearScan, LiquidScan
from .wiring import make_wiring

__all__ = ["CfC", "CfCCell", "LTC", "LiquidScan", "LinearScan", "LiquidFFN", "make_wiring"]
