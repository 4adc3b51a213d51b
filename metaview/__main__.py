import sys

from metaview.cli import main

sys.exit(main())
