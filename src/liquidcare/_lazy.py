"""Lazy package attributes: `liquidcare --help` must not pay for importing torch/transformers.

A package lists which module defines each heavy name; the name is imported the first time it is
asked for (PEP 562 module `__getattr__`) and then kept in the package's namespace.
"""

from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy_getattr(package: str, namespace: dict[str, Any], names: dict[str, str]
                 ) -> Callable[[str], Any]:
    """A module-level `__getattr__` for ``package`` that imports ``names[name]`` on demand."""

    def __getattr__(name: str) -> Any:
        if name in names:
            value = getattr(import_module(names[name]), name)
            namespace[name] = value  # the next lookup skips __getattr__
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
