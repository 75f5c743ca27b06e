"""``python -m skscore``: see :mod:`skscore.cli`."""

from .cli import main

raise SystemExit(main())
