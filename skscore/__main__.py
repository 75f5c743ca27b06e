"""``skscore`` and ``python -m skscore``: see :mod:`skscore.cli`.

The command line is imported here, inside :func:`run`, so that Ctrl-C while
Numba and the kernels load is one line and exit code 130, as it is later on.
"""

import importlib
import sys


def run(argv=None):
    """Import the command line and run it; see :func:`skscore.cli.main`."""
    try:
        cli = importlib.import_module("skscore.cli")
    except KeyboardInterrupt:
        print("skscore: interrupted", file=sys.stderr)
        return 130
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(run())
