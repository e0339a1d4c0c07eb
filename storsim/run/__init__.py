"""One simulation run: what it builds, and the processes that issue file operations.

Like a theatre's stage crew and cast for one performance, in the order of the evening:

- :mod:`~storsim.run.context`: what every model of the run shares (the SimPy
  environment, the host's devices, the recorder, the conflict tracker);
- :mod:`~storsim.run.world`: what the run builds before the first cue (the host, the
  images' layer stacks, volumes, bind sources);
- :mod:`~storsim.run.containers`: each replica's lifecycle (``docker run``, ``stop``,
  ``start``, ``rm``) and what a container run is (its view, mounts and backends);
- :mod:`~storsim.run.workload`: when iterations start (open or closed loop) and which
  path each one names;
- :mod:`~storsim.run.ops`: the op table, one row per file operation (how the semantic
  model decides it, how backends charge it, what conflict tracking it does);
- :mod:`~storsim.run.operation`: runs one operation: decide -> charge -> account -> record;
- :mod:`~storsim.run.locks`: the ``flock``/``fcntl`` lock a workload takes per iteration;
- :mod:`~storsim.run.conflicts`: the shared state of records that concurrent writers
  update (lost updates, torn writes, stale reads, locks), and each operation's share in it.

The package's ``__init__`` imports nothing, so that backends may import its context
without a cycle; :func:`storsim.simulate` is the public entry.
"""
