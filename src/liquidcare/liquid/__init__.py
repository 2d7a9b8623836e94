"""The liquid neural network core: CfC and LTC cells (FC or NCP wiring), the liquid scan, and
`LiquidFFN`, the drop-in replacement for a transformer's MLP. Torch and ``ncps.wirings`` only."""

from .cfc import CfC, CfCCell
from .ltc import LTC

__all__ = ["CfC", "CfCCell", "LTC"]
