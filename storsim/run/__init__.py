"""One simulation run: what it builds, and the processes that issue file operations.

Like a theatre's stage crew and cast for one performance, in the order of the evening:

- :mod:`~storsim.run.ops`: the op table, one row per file operation (how the semantic
  model decides it, how backends charge it, what conflict tracking it does);
- :mod:`~storsim.run.operation`: runs one operation: decide -> charge -> account -> record;
- :mod:`~storsim.run.conflicts`: the shared state of records that concurrent writers
  update (lost updates, torn writes, stale reads, locks), and each operation's share in it.

The package imports nothing at import time, so that backends may import its context
without a cycle.
"""
