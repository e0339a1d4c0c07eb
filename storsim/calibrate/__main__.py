"""``python -m storsim.calibrate``: the same as ``storsim calibrate``."""

import sys

from storsim.calibrate.cli import main

sys.exit(main())
