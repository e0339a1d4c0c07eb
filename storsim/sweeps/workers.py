"""A sweep's worker processes: started clean, ended with the sweep that started them.

Like temporary staff signed in for one job and out when it ends, however it ends: a
local process pool's workers are started without importing the caller's main module
(so a sweep runs the same from a script without an ``if __name__ == "__main__":``
guard, from ``python -c``, from stdin or from a REPL), ignore Ctrl-C from birth (the
sweep itself answers it, once, and stops them: :func:`quiet_start`), and die with the
sweep: on Linux the kernel kills a worker when its parent dies (``PR_SET_PDEATHSIG``),
and every worker also watches the sweep's process and exits when it is gone, so that
no worker outlives a sweep killed with SIGKILL for more than a moment. Each worker is a
session of its own, so that a scheduler that shares the CPUs between sessions gives a
pool of N workers N shares, not one (:func:`_own_session`).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import ctypes
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
import types
from collections.abc import Iterator
from multiprocessing import forkserver, resource_tracker

__all__ = ["hidden_main", "mp_context", "quiet_start", "start_pool", "stop_pool"]

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def start_pool(workers: int) -> cf.ProcessPoolExecutor:
    """A process pool of ``workers`` processes whose workers end with this process.

    Its processes start at the first submissions: make them inside :func:`hidden_main`
    and :func:`quiet_start` (of :func:`mp_context`).
    """
    return cf.ProcessPoolExecutor(
        workers, mp_context=mp_context(), initializer=_init_worker, initargs=(os.getpid(),)
    )


def stop_pool(pool: cf.ProcessPoolExecutor) -> None:
    """End a pool now: kill its workers (a run in progress is abandoned), then reap them."""
    # concurrent.futures has no public way to end running work before Python 3.14
    # (terminate_workers): its process table is the only handle on the workers
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            process.kill()
    pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def hidden_main() -> Iterator[None]:
    """Start worker processes without the caller's ``__main__`` module.

    multiprocessing's ``spawn`` and ``forkserver`` make each new worker import the main
    module of the parent again (``__main__.__file__`` or ``__spec__``), which fails
    for ``python - < script`` (``<stdin>`` is no file), and runs a script's top level
    once more, sweep included, when it has no main guard. A sweep's workers need
    nothing of it (they run :func:`storsim.sweeps.executors.run_one` on pickled
    scenarios), so while they start, ``__main__`` is an empty module.
    """
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


@contextlib.contextmanager
def quiet_start(context: multiprocessing.context.BaseContext) -> Iterator[None]:
    """Start a pool's processes so that a terminal's Ctrl-C reaches only the sweep.

    Ctrl-C sends SIGINT to the whole process group: the sweep, multiprocessing's
    resource tracker and forkserver, and the workers. A helper started while this
    process ignores SIGINT (a disposition that fork and exec keep) ignores it from
    birth, also while it imports its modules (where a KeyboardInterrupt would print a
    traceback), and so does every worker the forkserver forks. Workers of the spawn
    method are started from here, so they start while SIGINT is ignored too. With the
    forkserver, a Ctrl-C that comes while the block starts the workers is held back
    until the block ends, rather than cutting a start in two (which would leave a
    process the pool does not know of, that :func:`stop_pool` could not end). Ignoring
    lasts the few milliseconds of a fork and an exec; a Ctrl-C in them is lost.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # no signal disposition can be changed here; the workers ignore it later
        return
    forking = context.get_start_method() == "forkserver"
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    caught: list[int] = []
    try:
        resource_tracker.ensure_running()  # started now, not at the pool's first lock
        if forking:
            forkserver.ensure_running()
            # a Python handler runs in the main thread whichever thread the signal hit
            signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def mp_context() -> multiprocessing.context.BaseContext:
    """The start method of a sweep's workers: forkserver where there is one, else spawn."""
    # fork is unsafe once threads exist (a notebook kernel, dask, a BLAS pool); the
    # forkserver imports storsim once and forks each worker from that clean process
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["storsim.sweeps"])
        return context
    return multiprocessing.get_context("spawn")


def _init_worker(sweep_pid: int) -> None:
    """In a new worker: leave Ctrl-C to the sweep, and die with it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _own_session()
    if sys.platform.startswith("linux"):
        # the kernel sends SIGKILL when the parent (the sweep, or its forkserver) dies
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    threading.Thread(target=_watch, args=(sweep_pid,), name="storsim-watch", daemon=True).start()


def _own_session() -> None:
    """Make this worker a session of its own, so that the kernel counts it as one user.

    With autogroup scheduling (Linux's default where ``CONFIG_SCHED_AUTOGROUP`` is set:
    ``/proc/sys/kernel/sched_autogroup_enabled``), the scheduler shares CPU time fairly
    between *sessions*, and only then between the processes of one: workers left in the
    caller's session share that session's single slice, so on a busy machine a pool of
    2 was no faster than one process and paid its start on top (20 runs of the
    bench/run.py copy-up workload, 10,000 operations each, under a load average of 9:
    serial 37.7 and 58.1 s, pool 34.3 and 48.0 s, pool of sessions 22.9 and 32.3 s, in
    two alternating rounds). Nothing else changes: a worker already ignores Ctrl-C,
    and it still dies with the sweep (:func:`_init_worker`).
    """
    with contextlib.suppress(OSError, AttributeError):  # no setsid (Windows), or EPERM
        os.setsid()


def _watch(sweep_pid: int) -> None:
    """Exit this worker as soon as the sweep's process is gone."""
    try:
        fd = os.pidfd_open(sweep_pid)  # Linux 5.3+: readable once the process has exited
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):
        fd = None
    if fd is not None:
        select.select([fd], [], [])
        os._exit(1)
    while True:  # elsewhere: look every half second (a reused pid is rare in that time)
        time.sleep(0.5)
        try:
            os.kill(sweep_pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:
            pass
