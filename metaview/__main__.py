"""``python -m metaview``: the command line, as the ``metaview`` script runs it."""

import sys

from metaview.cli import main

sys.exit(main())
