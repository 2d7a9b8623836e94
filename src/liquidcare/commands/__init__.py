"""Sub-command groups that live beside the package they drive.

Each module named in `GROUPS` has `register(sub)`, which adds its sub-commands to the `liquidcare`
parser. A module imports only argparse at its top level (heavy imports go inside the command
functions) so that `liquidcare --help` stays fast.
"""

import argparse
import importlib

GROUPS: list[str] = ["models", "store", "serve", "safety", "federated", "media"]


def register_all(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    for name in GROUPS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
