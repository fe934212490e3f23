"""``python -m fastinit``: the ``fastinit`` command (see :mod:`fastinit.cli`)."""
import sys

from .cli import main

sys.exit(main())
