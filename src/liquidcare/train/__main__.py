"""``python -m liquidcare.train --config X.yaml``: the same as ``liquidcare train``.

It exists so that ``torchrun``, which starts a module or a script, can start a data-parallel
run:  ``torchrun --nproc_per_node=2 -m liquidcare.train --config configs/cfc-ncp-smollm2.yaml``
"""

import sys

from liquidcare.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
