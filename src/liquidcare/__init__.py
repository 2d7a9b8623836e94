"""Genuine Carers: healthcare chatbots whose language models carry liquid neural network layers.

Importing this package stays cheap on purpose (no torch here), so that `liquidcare --help`
answers at once. The heavy modules live in the sub-packages.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("liquidcare")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.1.0"

__all__ = ["__version__"]
