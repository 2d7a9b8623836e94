"""Holding numpy's BLAS to one thread around small products.

The guard and the search each run a few small matrix products per message beside a served
model on two cores; OpenBLAS would start a second thread for them that mostly spins waiting
(its CPU time counted against the message). Shared here because both rooms need it.
"""

from __future__ import annotations

from typing import Any


def blas_limiter() -> Any:
    """A context manager that holds numpy's BLAS to one thread (threadpoolctl; a no-op where it
    is missing). The controller looks the libraries up once, here, not on every search."""
    try:
        from threadpoolctl import ThreadpoolController

        controller = ThreadpoolController()
        return lambda: controller.limit(limits=1, user_api="blas")
    except ImportError:
        from contextlib import nullcontext

        return nullcontext
