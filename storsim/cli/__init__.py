"""The command line: ``storsim run | sweep | schema``.

:mod:`~storsim.cli.commands` parses the arguments and runs a command (:func:`main`, the
``storsim`` script's entry point); :mod:`~storsim.cli.output` prints the tables and
writes the ``--json`` document (:func:`result_json`).
"""

from storsim.cli.commands import main
from storsim.cli.output import print_summary, print_sweep_summary, result_json

__all__ = ["main", "print_summary", "print_sweep_summary", "result_json"]
