"""``python -m storsim`` runs the command line."""

import sys

from storsim.cli import main

sys.exit(main())
