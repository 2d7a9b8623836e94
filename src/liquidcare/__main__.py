"""``python -m liquidcare ...``: the `liquidcare` command, for scripts that start it as a child
process with a given interpreter (benchmarks, tests) rather than through the console script."""

import sys

from liquidcare.cli import main

if __name__ == "__main__":
    sys.exit(main())
