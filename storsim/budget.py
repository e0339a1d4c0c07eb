"""The work budget: how much a scenario would cost to run, estimated before it runs.

Like a builder's quote before the first brick is laid, :func:`estimate` reads the
validated scenario alone (nothing is built or simulated) and counts what a run would do:
the file operations of every workload in every container run (and again for each
placement of ``compare:``), the data they move in the page cache's 128 KiB chunks (the
model looks at each chunk: one read of 1 TiB is eight million looks, as much work as
eight million small operations), the copy-ups of image files, the files built into image
layers and volumes, the image files walked when containers start, and the memory the
largest run holds. A typo such
as ``count: 1000000000000``, ``rate: 1e9/s`` or ``replicas: 10000`` then costs a line
of explanation instead of hours or all the memory of the machine: :func:`check` refuses a
scenario whose estimate is over the budget (``max_ops``, :data:`DEFAULT_MAX_OPS` unless
the caller allows more) with a :class:`~storsim.errors.RunawayError` that gives the
estimate, its largest part with its line in the file, and the option that allows it.

The estimate is an upper bound for what is certain (counts, rates, files, replicas) and
a conservative guess for closed loops without a count (each operation taking at least
its system call, plus a network round trip on a distributed mount).
What it cannot foresee, a loop of operations that take no time at all, is caught while
the run runs (:mod:`storsim.guard`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from storsim.errors import RunawayError
from storsim.scenario import Content, Scenario, ServiceSpec, WorkloadSpec
from storsim.scenario.messages import dotted, locate

__all__ = ["DEFAULT_MAX_OPS", "Estimate", "check", "estimate", "memory_budget"]

#: The default budget: 20 million operations (or files built, or files walked). The
#: development machine runs 100,000 to 300,000 operations per second in one process
#: (README, Performance), so a run within it takes at most a few minutes; with
#: ``ops="full"`` its rows take about 2 GB.
DEFAULT_MAX_OPS = 20_000_000

# Memory, in bytes, of what a run keeps (measured with tracemalloc on CPython 3.11):
_ROW_BYTES = 100  # one operation's row in ops="full" (README: about 90 bytes)
_FILE_BYTES = 500  # one file of an image layer or volume, merged into its lookup table
_DRAWS_BYTES = 270_000  # one workload start: two blocks of 4096 random draws, as floats
_SIZES_BYTES = 150_000  # a step drawing its sizes from a distribution: one block of ints
_PROCESS_BYTES = 2_000  # one simulated thread: its generator, frames and events
_CACHE_ENTRY_BYTES = 200  # one chunk in the page cache's LRU table (key tuple, entry)
# Operations that may copy a file of the image up into the writable layer.
_COPIES_UP = frozenset({"write", "append", "truncate", "chmod", "open", "rename", "link"})
_MOVES_DATA = frozenset({"read", "write", "append", "create"})
_MIN_MEMORY_BYTES = 256 * 2**20  # the memory budget's floor, however small the budget


def memory_budget(max_ops: int) -> int:
    """The memory a run's model may hold under the budget ``max_ops``: 100 bytes (one
    operation's row) per operation allowed, and at least 256 MiB; 2 GB at the default."""
    return max(_MIN_MEMORY_BYTES, _ROW_BYTES * max_ops)


@dataclass(frozen=True)
class Part:
    """One contribution to an estimate, to name in a refusal.

    Attributes:
        path: the YAML path of the part of the scenario that causes it.
        amount: how much it contributes (operations, files, or bytes).
        what: how it comes about, e.g. ``"2 replicas x 1 run x 1e+11 iterations x 1 op"``.
    """

    path: list[str | int]
    amount: float
    what: str


@dataclass(frozen=True)
class Estimate:
    """What one call of :func:`storsim.simulate` would do, estimated.

    Attributes:
        operations: file operations, all runs together (the scenario and its
            placements), each 128 KiB chunk of data beyond an operation's first counted
            as one more, and so are the chunks of image files a copy-up may copy.
        files: files built into image layers, volumes and bind sources, all runs.
        file_visits: image files walked at container starts (a new volume filled from
            the image, a glob workload listing its files, a mount's hidden entries).
        memory_bytes: the memory the largest run holds at once, estimated.
        runs: the scenario itself plus one run per placement of ``compare:``.
        parts: the largest contributions, for the messages.
    """

    operations: float
    files: float
    file_visits: float
    memory_bytes: float
    runs: int
    parts: dict[str, Part] = field(default_factory=dict)

    @property
    def work(self) -> float:
        """Operations, files built and files walked: each costs about the same time."""
        return self.operations + self.files + self.file_visits


def estimate(scenario: Scenario, *, ops: str = "full", compare: bool = True) -> Estimate:
    """Estimate the work and memory of simulating ``scenario`` (nothing is run).

    Args:
        scenario: a validated scenario.
        ops: ``"full"`` (one row kept per operation) or ``"summary"``.
        compare: whether the placements of its ``compare:`` section run too.

    Returns:
        The :class:`Estimate`.
    """
    runs = 1 + (_placements(scenario) if compare and scenario.compare is not None else 0)
    image_files = {name: _image_files(scenario, name) for name in scenario.images}
    built = sum(image_files.values()) + sum(_content_files(c) for c in scenario.sources.values())
    operations = visits = 0.0
    memory = float(built * _FILE_BYTES)
    top_ops = top_visits = Part([], 0.0, "")
    top_memory = Part(_largest_content(scenario), memory, "the files built")
    for sname, svc in scenario.services.items():
        replicas = svc.deploy.replicas
        spans = _spans(svc, scenario.duration)
        runs_of_replica = sum(1 for e in svc.lifecycle if e.action == "run")
        walks = 1 + len(svc.mounts) + len(scenario.images[svc.image].volumes)
        walks += sum(1 for w in svc.workload if _is_glob(w.path))
        walked = replicas * runs_of_replica * image_files[svc.image] * walks
        visits += walked
        if walked > top_visits.amount:
            top_visits = Part(
                ["services", sname],
                walked,
                f"{replicas:,} replicas x {runs_of_replica} runs x "
                f"{image_files[svc.image]:,} image files walked {walks} times",
            )
        copies = replicas * runs_of_replica * _image_chunks(scenario, svc.image)
        if any(step.op in _COPIES_UP for w in svc.workload for step in w.ops):
            operations += copies  # each image file at most once per container
            if copies > top_ops.amount:
                top_ops = Part(
                    ["services", sname, "image"],
                    copies,
                    f"copy-ups of up to {_image_chunks(scenario, svc.image):,} chunks of "
                    f"image files x {replicas:,} replicas x {runs_of_replica} runs",
                )
        for w, workload in enumerate(svc.workload):
            iterations = sum(_iterations(scenario, svc, workload, t0, t1) for t0, t1 in spans)
            per_iteration = len(workload.ops) + (workload.lock != "none")
            per_iteration += sum(_chunks(step) - 1 for step in workload.ops)
            amount = replicas * iterations * per_iteration
            operations += amount
            if amount > top_ops.amount:
                top_ops = Part(
                    ["services", sname, "workload", w],
                    amount,
                    f"{replicas:,} replicas x {len(spans)} starts x about "
                    f"{iterations / max(len(spans), 1):.3g} iterations x {per_iteration:,} "
                    "operations (each 128 KiB of data one)",
                )
            # what one start of the workload in every replica holds at once
            held = replicas * (
                _DRAWS_BYTES
                + _SIZES_BYTES * sum(_draws_sizes(step.size) for step in workload.ops)
                + _PROCESS_BYTES * (workload.threads or 1)
            )
            memory += held
            if held > top_memory.amount:
                top_memory = Part(
                    ["services", sname, "deploy", "replicas"],
                    held,
                    f"{replicas:,} replicas x workload {workload.name or w!r} "
                    f"({workload.threads or 1:,} threads and their random draws)",
                )
    # the page cache holds at most its size in chunks, each an entry of its LRU table
    cached = min(scenario.host.page_cache / _chunk_bytes(), operations) * _CACHE_ENTRY_BYTES
    memory += cached
    if cached > top_memory.amount:
        top_memory = Part(["host", "page_cache"], cached, "the page cache's chunk table")
    if ops == "full":
        memory += operations * _ROW_BYTES
        if operations * _ROW_BYTES > top_memory.amount:
            top_memory = Part(top_ops.path, operations * _ROW_BYTES, "a row per operation")
    parts = {
        "operations": top_ops,
        "files": Part(_largest_content(scenario), built, f"{built:,} files built per run"),
        "file_visits": top_visits,
        "memory": top_memory,
    }
    return Estimate(
        operations=operations * runs,
        files=built * runs,
        file_visits=visits * runs,
        memory_bytes=memory,
        runs=runs,
        parts=parts,
    )


def check(
    scenario: Scenario, max_ops: int | None, *, ops: str = "full", compare: bool = True
) -> Estimate:
    """Refuse a scenario whose estimated work or memory is over the budget.

    Args:
        scenario: a validated scenario.
        max_ops: the budget: operations, files built and files walked allowed in all;
            memory allowed is :func:`memory_budget` of it. None: no limit.
        ops: as for :func:`storsim.simulate`.
        compare: as for :func:`storsim.simulate`.

    Returns:
        The estimate.

    Raises:
        RunawayError: over the budget; the message gives the estimate, its largest part
            and the budget that would allow it (``--max-ops N``, ``max_ops=N``).
        ValueError: ``max_ops`` < 1.
    """
    if max_ops is not None and (isinstance(max_ops, bool) or max_ops < 1):
        raise ValueError(f"max_ops must be a whole number >= 1 or None (got {max_ops!r})")
    found = estimate(scenario, ops=ops, compare=compare)
    if max_ops is None:
        return found
    # the budget that allows both the work and the memory, rounded up
    needed = _round_up(max(found.work, found.memory_bytes / _ROW_BYTES))
    allow = f"allow it with --max-ops {needed} (max_ops={needed} in Python)"
    runs = f" over {found.runs} runs (compare: placements)" if found.runs > 1 else ""
    if found.work > max_ops:
        part = max(
            (found.parts[k] for k in ("operations", "files", "file_visits")),
            key=lambda p: p.amount,
        )
        raise _refusal(
            scenario,
            part.path,
            f"the run would do about {found.work:.3g} operations (each 128 KiB of data, "
            f"each file built or walked counted as one){runs}, over the budget of "
            f"{max_ops:,}; the most: {part.what}; {allow}",
        )
    if found.memory_bytes > memory_budget(max_ops):
        part = found.parts["memory"]
        raise _refusal(
            scenario,
            part.path,
            f"the run would need about {_gib(found.memory_bytes)} of memory, over the "
            f"budget's {_gib(memory_budget(max_ops))} (100 bytes per operation allowed); "
            f"the most: {part.what} ({_gib(part.amount)}); {allow}",
        )
    return found
    runs = f" over {found.runs} runs (compare: placements)" if found.runs > 1 else ""
    if found.work > max_ops:
        part = max(
            (found.parts[k] for k in ("operations", "files", "file_visits")),
            key=lambda p: p.amount,
        )
        needed = _round_up(found.work)
        raise _refusal(
            scenario,
            part.path,
            f"the run would do about {found.work:.3g} operations (each 128 KiB of data, "
            f"each file built or walked counted as one){runs}, over the budget of "
            f"{max_ops:,}; the most: {part.what}; allow it with --max-ops {needed} "
            f"(max_ops={needed} in Python)",
        )
    if found.memory_bytes > memory_budget(max_ops):
        part = found.parts["memory"]
        needed = _round_up(found.memory_bytes / _ROW_BYTES)
        raise _refusal(
            scenario,
            part.path,
            f"the run would need about {_gib(found.memory_bytes)} of memory, over the "
            f"budget's {_gib(memory_budget(max_ops))} (100 bytes per operation allowed); "
            f"the most: {part.what} ({_gib(part.amount)}); allow it with --max-ops "
            f"{needed} (max_ops={needed} in Python)",
        )
    return found


# --- the parts of an estimate ---------------------------------------------------------


def _refusal(scenario: Scenario, path: list[str | int], message: str) -> RunawayError:
    line = None
    tree = getattr(scenario, "_tree", None)
    if tree is not None and path:
        _, line = locate(tree, path)
    where = dotted(path)
    return RunawayError(
        f"{where}: {message}" if path else message, file=scenario.file, line=line, where=where
    )


def _round_up(value: float) -> int:
    """A budget that allows ``value``, rounded up to two significant digits."""
    if value < 100:
        return max(1, math.ceil(value))
    scale = 10 ** (math.floor(math.log10(value)) - 1)
    return int(math.ceil(value / scale) * scale)


def _gib(value: float) -> str:
    return f"{value / 2**30:.3g} GiB"


def _placements(scenario: Scenario) -> int:
    c = scenario.compare
    assert c is not None
    return sum(
        len(c.server or [None]) if choice == "distributed_bind" else 1 for choice in c.choices
    )


def _content_files(content: Content | None) -> int:
    if content is None:
        return 0
    return len(content.files) + len(content.symlinks) + sum(g.count for g in content.generate)


def _image_files(scenario: Scenario, image: str) -> int:
    return sum(_content_files(layer) for layer in scenario.images[image].layers)


def _largest_content(scenario: Scenario) -> list[str | int]:
    """The YAML path of the largest list of files (a generated population, or files), or
    of the ``repeat`` of a layer entry whose copies together hold the most."""
    contents: list[tuple[list[str | int], Content, int]] = []
    for name, image in scenario.images.items():
        copies: dict[int, int] = {}
        for layer in image.layers:
            copies[layer.entry] = copies.get(layer.entry, 0) + 1
        contents += [
            (["images", name, "layers", layer.entry], layer, copies[layer.entry])
            for layer in image.layers
            if layer.origin is layer
        ]
    contents += [(["sources", key], content, 1) for key, content in scenario.sources.items()]
    best: tuple[int, list[str | int]] = (-1, [])
    for path, content, n in contents:
        if n > 1 and n * _content_files(content) > best[0]:
            best = (n * _content_files(content), [*path, "repeat"])
        if n * len(content.files) > best[0]:
            best = (n * len(content.files), [*path, "files"])
        for g, gen in enumerate(content.generate):
            if n * gen.count > best[0]:
                best = (n * gen.count, [*path, "generate", g, "count"])
    return best[1]


def _is_glob(path: str | None) -> bool:
    return path is not None and "{" not in path and any(c in path for c in "*?[")


def _draws_sizes(size: Any) -> int:
    return 0 if size is None or size.dist == "fixed" else 1


def _chunk_bytes() -> int:
    # the page cache's chunk: the model's, loaded when needed (the device layer)
    from storsim.backends.local import CHUNK_BYTES

    return CHUNK_BYTES


def _mean_size(size: Any) -> float:
    """The mean of a size spec, bytes (4 KiB, the model's default, when there is none)."""
    if size is None:
        return 4096.0
    if size.dist == "fixed":
        return float(size.size)
    if size.dist == "lognormal":
        return float(size.median * math.exp(size.sigma**2 / 2))
    if size.dist == "uniform":
        return float(size.min + size.max) / 2
    return float(size.mean)


def _chunks(step: Any) -> int:
    """The page-cache chunks one step moves (at least 1: the operation itself)."""
    if step.op not in _MOVES_DATA:
        return 1
    return max(1, math.ceil(_mean_size(step.size) / _chunk_bytes()))


def _image_chunks(scenario: Scenario, image: str) -> int:
    """The chunks of every file of an image: what copying them all up would move."""
    total = 0.0
    for layer in scenario.images[image].layers:
        total += sum(layer.files.values())
        total += sum(g.count * _mean_size(g.size) for g in layer.generate)
    return math.ceil(total / _chunk_bytes())


def _spans(svc: ServiceSpec, end: float | None) -> list[tuple[float, float]]:
    """The (start, stop) times a replica's workloads run: from each ``run`` or ``start``
    to the next ``stop`` or ``rm``, or to the end of the scenario."""
    spans: list[tuple[float, float]] = []
    start: float | None = None
    limit = math.inf if end is None else end
    for event in svc.lifecycle:
        if event.at >= limit:
            break
        if event.action in ("run", "start"):
            start = event.at
        elif start is not None:
            spans.append((start, event.at))
            start = None
    if start is not None:
        spans.append((start, limit))
    return spans


def _iterations(
    scenario: Scenario, svc: ServiceSpec, w: WorkloadSpec, t0: float, t1: float
) -> float:
    """Iterations of one workload in one span of a container: its count, or what its
    arrival rate or threads can do in the time it has, whichever is less."""
    begin = t0 + w.start
    end = t1 if w.duration is None else min(t1, begin + w.duration)
    length = max(0.0, end - begin)
    count = math.inf if w.count is None else float(w.count)
    if length == 0.0:
        return 0.0
    if w.rate is not None:
        return min(count, w.rate * length) if math.isfinite(length) else count
    # at least a system call (or 1 us, if a scenario sets that to zero) each
    per_op = max(scenario.host.syscall_latency + _round_trip(scenario, svc, w), 1e-6)
    thinks = sum(step.think for step in w.ops)
    least = w.think + thinks + len(w.ops) * per_op
    if not math.isfinite(length):
        return count
    possible = (w.threads or 1) * length / max(least, 1e-9)
    return min(count, possible)


def _round_trip(scenario: Scenario, svc: ServiceSpec, w: WorkloadSpec) -> float:
    """A network round trip if ``w``'s path is on a distributed bind mount, else 0: the
    least an operation takes there beyond its system call."""
    path = w.path or next((s.path for s in w.ops if s.path), None) or "/"
    best = None
    for m in svc.mounts:
        target = m.target.rstrip("/")
        if (path == target or path.startswith(target + "/")) and (
            best is None or len(m.target) > len(best.target)
        ):
            best = m
    remote = best.remote if best is not None else None
    if remote is None or remote[0] not in scenario.host.remotes:
        return 0.0
    spec = scenario.host.remotes[remote[0]]
    if spec.rtt is not None:
        return spec.rtt
    from storsim.devices import profiles  # the device layer, loaded only when needed

    return profiles.REMOTE_PROFILES[spec.profile].rtt_s
