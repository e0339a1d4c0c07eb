"""The fit: the model's host parameters from a measurement file, by least squares.

Like a surveyor who fixes a few landmarks by triangulation and leaves the others to
check the map against, the fit takes the model's own cost formulas (a copy-up costs the
disk's write latency plus its size over the write bandwidth; a first lookup through L
layers costs L directory reads and L times the per-layer CPU cost...) as linear models
in the unknown parameters and solves each with :func:`numpy.linalg.lstsq` on a chosen
part of the measured points (the *calibration points*); the other points are held out
for ``storsim validate``.

The fit is a table (:data:`FIT_TABLE`): one :class:`Row` per parameter, naming the
experiment it comes from, the points, the shape (the design matrix's columns), the
coefficient it takes and the YAML key it writes. A parameter the model gains is one
more row. Rows are solved in order: a later row may subtract what an earlier one
fitted (``known``), as the copy-up subtracts the syscall cost.

Each point's statistic is the median of its samples (robust to the one sample a shared
machine delays by a scheduling slice).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from storsim.backends.local import PAGE_BYTES, folio_bytes, folios_touched, pages
from storsim.backends.overlay import COPY_UP_CHUNK_BYTES, COPY_UP_SPLICE_BYTES
from storsim.calibrate.datapath import PREPARE_WRITE_BYTES
from storsim.calibrate.schema import Measurements, Point
from storsim.scenario.host import HostSpec

__all__ = ["FIT_TABLE", "SSD_WRITE_LATENCY_S", "Fitted", "Row", "fit", "fit_points", "point_key"]

Params = Mapping[str, Any]
Known = Mapping[str, float]


# Params of a data-path point that its ``case`` already implies or that only describe it.
_DESCRIPTIVE = ("fs_type", "op", "pattern", "size_bytes", "file_bytes", "ops_per_rep", "reps")


def point_key(experiment: str, params: Params) -> str:
    """A point's name, ``copy_up[size_bytes=4096,cache=cold]``: the same in fit and
    validation, so the calibration points can be excluded by name."""
    skip = _DESCRIPTIVE if "case" in params else ()
    inner = ",".join(f"{k}={v}" for k, v in params.items() if k not in skip)
    return f"{experiment}[{inner}]"


@dataclass(frozen=True, slots=True)
class Row:
    """One fitted parameter.

    Attributes:
        key: its dotted key under ``host:`` (``disk.write_bandwidth``).
        experiment: the experiments its points come from (one or several).
        select: which points take part (a predicate on their params).
        columns: the shape, one function per design-matrix column, of the point's
            params (``lambda p: 1.0`` for an intercept, ``lambda p: p["size_bytes"]``).
        coefficient: which column's coefficient the parameter is.
        value: turns that coefficient (and the parameters fitted before) into the
            parameter's value in its unit (bytes/s from a slope in s/byte...).
        offset: the part of each point's time already explained by earlier rows,
            subtracted before the fit (s).
        shape: the shape in words, for the profile and the report.
        hold_out: hold out every other point along ``along`` (sorted), fitting the
            rest; False fits every selected point (then the parameter is checked on
            other experiments).
        along: the param the points are sorted by for ``hold_out`` (each experiment's
            points apart).
        along_by: (experiment, param) pairs for experiments swept along another param
            than ``along``.
        minimum: the least value the parameter may take (a negative cost fitted from
            noise is clamped, and the profile says so).
        unit: how the value is written in YAML (``s``, ``B/s``).
        source: why this formula: which model rule, citing its code.
    """

    key: str
    experiment: tuple[str, ...]
    select: Callable[[Params], bool]
    columns: tuple[Callable[[Params], float], ...]
    coefficient: int
    value: Callable[[float, Known], float]
    shape: str
    source: str
    offset: Callable[[Params, Known], float] = lambda p, k: 0.0
    hold_out: bool = True
    along: str = ""
    along_by: tuple[tuple[str, str], ...] = ()
    minimum: float = 0.0
    unit: str = "s"


def _one(p: Params) -> float:
    return 1.0


def _size(p: Params) -> float:
    return float(p["size_bytes"])


def _layers(p: Params) -> float:
    return float(p["layers"])


def _recip(slope: float, known: Known) -> float:
    return 1.0 / slope if slope > 0 else math.inf


def _coef(c: float, known: Known) -> float:
    return c


def _case(*cases: str) -> Callable[[Params], bool]:
    return lambda p: p.get("case") in cases


DATA_PATHS = ("data_path", "data_path_tmpfs", "data_path_overlay")
# The data paths whose cached operations are a syscall and a copy alone (the overlay's
# pay op_overhead on top: its own row).
PLAIN_PATHS = ("data_path", "data_path_tmpfs")

_CACHED = _case(
    "write_small_overwrite", "write_large_overwrite", "read_small_cached", "read_large_cached"
)
_CACHED_SHAPE = (
    "affine in size and folios: syscall_latency [+ write_overhead for a write] "
    "[+ cache_hit_latency for a read on ext4 + F x folio_read for a read] + size / "
    "copy_bandwidth"
)


_FSYNCS = ("fsync_small_overwrite", "fsync_small_append")


def _is_write(p: Params) -> float:
    return 1.0 if p.get("op") == "write" else 0.0


def _pays_hit(p: Params) -> float:
    """1 for a cached read that pays the page-cache hit: not on tmpfs (tmpfs.py)."""
    return 1.0 if p.get("op") == "read" and p.get("target") != "tmpfs" else 0.0


# The folios of a host the fit cannot see (host.max_folio is not measured), and the
# buffer-head walk of a point fitted before it (a profile of tmpfs alone).
_MAX_FOLIO = HostSpec().max_folio
_BUFFER_HEAD_WALK_S = HostSpec().buffer_head_walk
_FOLIO_WRITE_S = HostSpec().folio_write
_FOLIO_READ_S = HostSpec().folio_read
_WRITE_OVERHEAD_S = HostSpec().write_overhead
_LOCAL_WALK_S = HostSpec().walk_per_component


def _folio(p: Params) -> int:
    """The folio size of the pages a data-path point's write goes through (local.py
    write_pages): calibrate writes its prepared files in 1 MiB writes (cached in 1 MiB
    folios), an overlay's upper copy is the copy-up's (64 KiB folios: overlay.py
    COPY_UP_SPLICE_BYTES), an append's pages are folios of its own size; a tmpfs's are
    4 KiB."""
    if p.get("target") == "tmpfs":
        return PAGE_BYTES
    if "append" in str(p.get("case", "")):
        made = int(p["size_bytes"])
    elif p.get("target") == "overlay_upper":
        made = COPY_UP_SPLICE_BYTES
    else:
        made = PREPARE_WRITE_BYTES
    return folio_bytes(0, made, _MAX_FOLIO)


def _folios_of(p: Params, op: str) -> float:
    """Folios a data-path point goes through if it is an ``op`` (else none): fio aligns a
    random access to its size, so a 1 MiB one of a file in 1 MiB folios goes through one."""
    if p.get("op") != op:
        return 0.0
    return float(folios_touched(0, int(p["size_bytes"]), _folio(p)))


def _folios_written(p: Params) -> float:
    """Folios a data-path point's write goes through (none for a read or an fsync)."""
    return _folios_of(p, "write")


def _folios_read(p: Params) -> float:
    """Folios a data-path point's read goes through (none for a write or an fsync)."""
    return _folios_of(p, "read")


# The cached data-path points' design matrix (the rows of syscall_latency to folio_read)
_CACHED_COLUMNS = (_one, _is_write, _size, _pays_hit, _folios_read)


def _walked_blocks(p: Params) -> float:
    """4 KiB blocks of the folios a data-path point's write walks (none on tmpfs: no
    buffer heads)."""
    if p.get("target") == "tmpfs":
        return 0.0
    return _folios_written(p) * (_folio(p) // PAGE_BYTES)


def _bh_s(p: Params, k: Known) -> float:
    """The buffer-head walk of a data-path point's write (s)."""
    return _walked_blocks(p) * k.get("buffer_head_walk", _BUFFER_HEAD_WALK_S)


def _walk_s(p: Params, k: Known) -> float:
    """A data-path point's write's way through its folios (s): each folio's
    ``folio_write`` and each block's buffer-head walk."""
    return _bh_s(p, k) + _folios_written(p) * k.get("folio_write", _FOLIO_WRITE_S)


def _through_s(p: Params, k: Known) -> float:
    """A data-path point's way through its folios (s): a write's (:func:`_walk_s`), or
    a read's ``folio_read`` a folio."""
    return _walk_s(p, k) + _folios_read(p) * k.get("folio_read", _FOLIO_READ_S)


# The ``ssd`` profile's write latency (25 us: 4 KiB random writes at QD1 into the drive's
# cache, [X2] in storsim/devices/profiles.py). Every measured write reaches the device
# with an fsync, whose commit (``flush_latency``) it always comes with: the two are not
# separable here, so the profile keeps this one and the fit gives the flush the rest.
SSD_WRITE_LATENCY_S = 25e-6


def _lookup_visits(p: Params) -> float:
    """Layer visits of the model's ``stat`` of ``d/f`` in a container: ``d`` through the
    upper root and every lower (a directory: the merge goes on), then ``f`` through every
    lower (``ovl_lookup``; measured with :func:`storsim.calibrate.validate` plans); of
    ``p/c/.../f`` (lookup_depth, ``depth`` components, each directory in every layer):
    the first through the upper root and the lowers, each later one through the lowers."""
    if "depth" in p:
        return _layers(p) * float(p["depth"]) + 1.0
    return 2.0 * _layers(p) + 1.0


def _components(p: Params) -> float:
    """Path components of a lookup point's ``stat``: 2 for ``d/f``, ``depth`` else."""
    return float(p["depth"]) if "depth" in p else 2.0


def _walk(p: Params, k: Known) -> float:
    """The cached walk's CPU time of a lookup point's path on the overlay (s)."""
    return (
        _components(p) * k["overlay.walk_per_component"]
        + _lookup_visits(p) * k["overlay.walk_per_layer"]
    )


def _first_lookups(p: Params, k: Known) -> float:
    """The CPU time of a lookup point's ``stat`` (a hit) on a new overlay mount (s): the
    syscall, the attributes, the walk and the first lookup of every component (a stat
    opens no file: no ``overlay.op_overhead``)."""
    return (
        k["syscall_latency"]
        + k["getattr_latency"]
        + _walk(p, k)
        + _components(p) * k["overlay.lookup_per_component"]
        + _lookup_visits(p) * k["overlay.lookup_per_layer"]
    )


def _overlay_lookup(state: str) -> Callable[[Params], bool]:
    """The overlay points (layers >= 1) of lookup (hits) and lookup_depth in ``state``."""
    return lambda p: p["state"] == state and p["layers"] >= 1 and p.get("result", "hit") == "hit"


def _overlay_warm(p: Params) -> bool:
    """The warm overlay points (layers >= 1) of lookup (hits and misses) and
    lookup_depth (hits): a miss walks what a hit walks (``d`` through every layer, then
    the name through the lowers) and fails before ``getattr``."""
    return bool(p["state"] == "warm" and p["layers"] >= 1)


def _is_hit(p: Params) -> float:
    """1 for a stat that finds its file (it pays ``getattr``), 0 for a miss."""
    return 1.0 if p.get("result", "hit") == "hit" else 0.0


_WARM_COLUMNS = (_components, _lookup_visits, _is_hit)


def _lookup_reads(p: Params) -> float:
    """Metadata reads of the model's cold ``stat`` in a pass over many such paths (the
    benchmark's and the validation plan's): the lower copies of each directory of the
    path below the root, one per layer (``h<k>/f``: layers; ``p/c/.../f``: layers x
    (depth - 1); the plain file system's ``h<k>``: 1). The layers' roots are read by
    the pass's first stat, and the inodes come 512 per read (ext4's inode table
    readahead), so neither counts in the median."""
    if not p["layers"]:
        return 1.0
    return _layers(p) * (_components(p) - 1.0)


def _lower_visits(p: Params) -> float:
    """Lower layers the host consults for the first time in a cold ``stat`` (each
    component in each layer: the upper root is in memory); 0 for the plain file system
    (its first lookups cost the reads alone)."""
    return _layers(p) * _components(p)


def _cold_lookup(p: Params) -> bool:
    """The cold points of lookup (hits) and lookup_depth."""
    return bool(p["state"] == "cold" and p.get("result", "hit") == "hit")


def _plain_walk(components: float, k: Known) -> float:
    """The cached walk of a path of ``components`` on the plain file system (s)."""
    return components * k.get("walk_per_component", _LOCAL_WALK_S)


def _cold_offset(p: Params, k: Known) -> float:
    """A cold stat's CPU time but the host's first lookups (s): as on a new mount."""
    if p["layers"]:
        return _first_lookups(p, k)
    return k["syscall_latency"] + _plain_walk(_components(p), k) + k["getattr_latency"]


def _plain_warm(p: Params) -> bool:
    """The warm points of lookup on the plain file system (hits and misses)."""
    return bool(p["state"] == "warm" and not p["layers"])


def _block_walk(known: Known) -> float:
    """A copy-up's buffer-head walk per byte: each 4 KiB block's once (s/B)."""
    return known.get("buffer_head_walk", _BUFFER_HEAD_WALK_S) / PAGE_BYTES


def _cached_copy_slope(known: Known) -> float:
    """A cached copy-up's time per byte: the kernel's copy, its blocks' walk, then its
    write-back (s/B)."""
    return (
        1.0 / known["memory.copy_bandwidth"]
        + _block_walk(known)
        + 1.0 / known["disk.write_bandwidth"]
    )


def _fsync_fixed(p: Params, k: Known) -> float:
    """What the model's 4 KiB fsync costs besides the flush (s)."""
    return k["syscall_latency"] + SSD_WRITE_LATENCY_S + _size(p) / k["disk.write_bandwidth"]


def _merged_readdir(p: Params) -> bool:
    """Warm listings of a merged directory (2 layers or more), every size.

    The 4096-entry listings decide the merge's cost per entry: from 16 and 256 entries
    alone, two full calibrations of this host an hour apart fitted 293 and 19 ns an
    entry, and the second profile then missed every merged 4096-entry listing by half
    (28 of 38 shapes on its own measurements; 33 with them). On a loaded host those
    listings (2 to 3 ms of CPU, longer than the scheduler's slice) are preempted and
    their samples bimodal (1.8-3 ms and 10-15 ms): calibrate on a quiet host."""
    return bool(p["state"] == "warm" and p["layers"] > 1)


def _merged_offset(p: Params, k: Known) -> float:
    """What a merged listing costs besides its layers and its merge: the plain
    per-entry copy and the walk's per-layer part (s)."""
    return (
        float(p["entries"]) * k["readdir_per_entry"]
        + (_layers(p) + 1.0) * k["overlay.walk_per_layer"]
    )


def _copy_chunks(p: Params) -> float:
    """The 1 MiB chunks a copy-up of the point's file copies, a page-cache hit each
    (overlay.py _charge_slow)."""
    return float(-(-int(p["size_bytes"]) // COPY_UP_CHUNK_BYTES))


def _chunk_hits(p: Params, k: Known) -> float:
    """The page-cache hits of a copy-up's chunks and its upper file's folios (s): not
    per byte (a 4 KiB file is one 64 KiB folio's write), so not in a slope."""
    folios = folios_touched(0, int(p["size_bytes"]), COPY_UP_SPLICE_BYTES)
    return _copy_chunks(p) * k["memory.cache_hit_latency"] + folios * k.get(
        "folio_write", _FOLIO_WRITE_S
    )


def _data_copy_up(p: Params) -> bool:
    """The copy-ups with data and a cached lower file: copy_up's cached points and
    copy_up_meta's chmod without metacopy."""
    if "cache" in p:
        return bool(p["cache"] == "cached")
    return bool(p["op"] == "chmod" and p["metacopy"] == "off")


def _data_copy_up_fixed(p: Params, k: Known) -> float:
    """What the model's copy-up with data costs but its commit (s): the syscall (and a
    write's own checks), the overlay's call and the cached walk of /data/f, the chunks'
    hits, the copy, the write-back (the disk's write latency and bandwidth), the workdir
    create and rename (and a chmod's own update), and the walk of each block's buffer
    head (each folio's is in the chunks' part)."""
    size = _size(p)
    updates = 3.0 if p.get("op") == "chmod" else 2.0
    return (
        k["syscall_latency"]
        + _writes(p) * k.get("write_overhead", _WRITE_OVERHEAD_S)
        + _opens(p) * k["overlay.op_overhead"]
        + _walk({"layers": 1}, k)
        + _chunk_hits(p, k)
        + size / k["memory.copy_bandwidth"]
        + SSD_WRITE_LATENCY_S
        + size / k["disk.write_bandwidth"]
        + updates * k["metadata_update"]
        + pages(int(size)) * k.get("buffer_head_walk", _BUFFER_HEAD_WALK_S)
    )


def _writes(p: Params) -> float:
    """1 for a copy-up point whose call is a write (copy_up's 1-byte write: it pays
    ``write_overhead``), 0 for an O_TRUNC open or a chmod."""
    return 1.0 if "cache" in p else 0.0


def _opens(p: Params) -> float:
    """1 for a copy-up point whose call opens the file (a write, an O_TRUNC open: it pays
    ``overlay.op_overhead``), 0 for a chmod (a call on a path)."""
    return 0.0 if p.get("op") == "chmod" else 1.0


def _meta_updates(p: Params) -> float:
    """Metadata updates of the model's metadata-only copy-up points: each copies up
    (create in the workdir, rename: 2), a chmod changes the mode as well (1)."""
    return 2.0 if p["op"] == "trunc_open" else 3.0


def _cached_row(
    key: str,
    coefficient: int,
    source: str,
    *,
    value: Callable[[float, Known], float] = _coef,
    unit: str = "s",
) -> Row:
    """A row of the cached data-path points' one design (:data:`_CACHED_COLUMNS`, solved
    together): coefficient ``coefficient`` of it is ``key``."""
    return Row(
        key=key,
        experiment=PLAIN_PATHS,
        select=_CACHED,
        columns=_CACHED_COLUMNS,
        offset=_walk_s,
        coefficient=coefficient,
        value=value,
        shape=_CACHED_SHAPE,
        source=source,
        hold_out=False,
        unit=unit,
    )


FIT_TABLE: tuple[Row, ...] = (
    Row(
        key="extend_write",
        # not the overlay's: its 1 MiB overwrite goes through 16 folios of 64 KiB (the
        # copy-up's), its append through one, a difference the rows below fit
        experiment=PLAIN_PATHS,
        select=_case("write_large_append"),
        columns=(lambda p: _size(p) / PAGE_BYTES,),
        coefficient=0,
        value=_coef,
        offset=lambda p, k: _twin(p, k),
        shape="per page: a 1 MiB appending write less a 1 MiB overwrite (the same folios), "
        "over its 256 pages",
        source="a write that extends a file allocates its new pages' blocks and updates "
        "the size (local.py: host.extend_write per page beyond the old end of file)",
        hold_out=False,
    ),
    Row(
        key="buffer_head_walk",
        experiment=("data_path",),
        select=_case("write_small_overwrite"),
        columns=(lambda p: _walked_blocks(p) - 1.0,),
        coefficient=0,
        value=_coef,
        offset=lambda p, k: _TWINS["backing:write_small_append"] - k["extend_write"],
        shape="per block: a 4 KiB overwrite of a file cached in 1 MiB folios (256 blocks) "
        "less a 4 KiB append (one block of its own 4 KiB folio, one page added)",
        source="a buffered write walks every buffer head of each folio it touches "
        "(local.py write_pages: host.buffer_head_walk per block; ext4_block_write_begin, "
        "block_commit_write)",
        hold_out=False,
    ),
    Row(
        key="folio_write",
        experiment=PLAIN_PATHS,
        select=_case("write_large_overwrite"),
        columns=(_one, _folios_written),
        coefficient=1,
        value=_coef,
        offset=_bh_s,
        shape="per folio: a 1 MiB overwrite on tmpfs (256 folios of 4 KiB) against one on "
        "ext4 (one folio of 1 MiB), less its buffer-head walk",
        source="a buffered write goes through each folio it touches, one at a time "
        "(local.py write_pages: host.folio_write a folio; generic_perform_write)",
        hold_out=False,
    ),
    _cached_row(
        "syscall_latency",
        0,
        "a cached read costs the syscall and a memcpy out, a buffered write the syscall, "
        "its own checks and a memcpy into the page cache, each its way through its folios "
        "(storsim/backends/local.py warm)",
    ),
    _cached_row(
        "write_overhead",
        1,
        "the same points: what a buffered write call costs beyond a read of its size and "
        "folios (local.py warm, tmpfs.py: host.write_overhead; generic_write_checks, "
        "file_modified, balance_dirty_pages_ratelimited)",
    ),
    _cached_row(
        "memory.copy_bandwidth",
        2,
        "the same points: the slope is the memcpy's time per byte",
        value=_recip,
        unit="B/s",
    ),
    _cached_row(
        "memory.cache_hit_latency",
        3,
        "the same points: what a cached read on ext4 costs beyond one on tmpfs of its size "
        "and folios, its page-cache lookup (local.py warm: host.memory.cache_hit_latency; "
        "tmpfs.py pays none)",
    ),
    _cached_row(
        "folio_read",
        4,
        "the same points: a cached read copies each folio out on its own (local.py warm, "
        "tmpfs.py: host.folio_read a folio; filemap_read, shmem_file_read_iter); a 1 MiB "
        "read goes through one folio on ext4 (calibrate's files: 1 MiB folios), 256 on "
        "tmpfs",
    ),
    Row(
        key="overlay.op_overhead",
        experiment=("data_path_overlay",),
        select=_case("write_small_overwrite", "read_small_cached"),
        columns=(_one,),
        coefficient=0,
        value=_coef,
        offset=lambda p, k: _twin(p, k) + _through_s(p, k) - _through_s(_twin_params(p), k),
        shape="constant: the same small operation on the upper layer less on ext4",
        source="overlayfs passes each call on to the real file (overlay.py _after_lookup: "
        "host.overlay.op_overhead per call)",
        hold_out=False,
    ),
    Row(
        key="noop_syscall_latency",
        experiment=("data_path_tmpfs",),
        select=_case("fsync_small_overwrite"),
        columns=(_one,),
        coefficient=0,
        value=_coef,
        shape="constant: an fsync on tmpfs after a 4 KiB overwrite (the append's held out)",
        source="tmpfs's fsync is noop_fsync (mm/shmem.c): a system call and no file work "
        "(tmpfs.py: host.noop_syscall_latency)",
        hold_out=False,
    ),
    Row(
        key="overlay.walk_per_component",
        experiment=("lookup", "lookup_depth"),
        select=_overlay_warm,
        columns=_WARM_COLUMNS,
        coefficient=0,
        value=_coef,
        offset=lambda p, k: k["syscall_latency"],
        shape="linear in components, layer visits and hits: a stat repeated on the same "
        "mount (d/f through 1-128 layers, found and missing; p/c/.../f of 1-16 components "
        "through 4)",
        source="every walk on an overlay costs each component its cached lookup "
        "(overlay.py _walk_cost: walk_per_component per component; ovl_permission, "
        "ovl_dentry_revalidate)",
        along="layers",
        along_by=(("lookup_depth", "depth"),),
    ),
    Row(
        key="overlay.walk_per_layer",
        experiment=("lookup", "lookup_depth"),
        select=_overlay_warm,
        columns=_WARM_COLUMNS,
        coefficient=1,
        value=_coef,
        offset=lambda p, k: k["syscall_latency"],
        shape="the same points: the walk's cost per layer visit",
        source="a merged dentry's lower stack is walked again at each walk (overlay.py "
        "_walk_cost: walk_per_layer per visit; ovl_dentry_revalidate over ovl_lowerstack)",
        along="layers",
        along_by=(("lookup_depth", "depth"),),
    ),
    Row(
        key="getattr_latency",
        experiment=("lookup", "lookup_depth"),
        select=_overlay_warm,
        columns=_WARM_COLUMNS,
        coefficient=2,
        value=_coef,
        offset=lambda p, k: k["syscall_latency"],
        shape="the same points: what a stat that finds its file costs beyond a miss of "
        "the same walk",
        source="a stat that finds its file fills its attributes in and copies them out; a "
        "missing name fails in the walk before (local.py warm: host.getattr_latency; "
        "vfs_getattr, ovl_getattr, cp_new_stat)",
        along="layers",
        along_by=(("lookup_depth", "depth"),),
    ),
    Row(
        key="walk_per_component",
        experiment=("lookup",),
        select=_plain_warm,
        columns=(_components,),
        coefficient=0,
        value=_coef,
        offset=lambda p, k: k["syscall_latency"] + _is_hit(p) * k["getattr_latency"],
        shape="per component: a stat of d/f repeated on the plain file system, found and "
        "missing, less the syscall (and a hit's attributes)",
        source="every walk on a local file system looks each component up in the dentry "
        "cache (local.py charge: host.walk_per_component per component; link_path_walk, "
        "lookup_fast, may_lookup)",
        hold_out=False,
    ),
    Row(
        key="overlay.lookup_per_component",
        experiment=("lookup", "lookup_depth"),
        select=_overlay_lookup("fresh"),
        columns=(_components, _lookup_visits),
        coefficient=0,
        value=_coef,
        offset=lambda p, k: k["syscall_latency"] + k["getattr_latency"] + _walk(p, k),
        shape="linear in components and layer visits: the first stat on a new mount, host "
        "caches warm (d/f: 2 components, 2 x layers + 1 visits; p/c/.../f: depth, 4 x "
        "depth + 1), less the cached walk",
        source="a container's first lookup of a component allocates the overlay's dentry "
        "and inode (overlay.py _walk_cost: lookup_per_component; ovl_lookup, ovl_get_inode)",
        along="layers",
        along_by=(("lookup_depth", "depth"),),
    ),
    Row(
        key="overlay.lookup_per_layer",
        experiment=("lookup", "lookup_depth"),
        select=_overlay_lookup("fresh"),
        columns=(_components, _lookup_visits),
        coefficient=1,
        value=_coef,
        offset=lambda p, k: k["syscall_latency"] + k["getattr_latency"] + _walk(p, k),
        shape="the same points: the first lookup's cost per layer visit",
        source="a container's first lookup of each component consults the layers one "
        "after another (overlay.py _walk_cost: visits x lookup_per_layer)",
        along="layers",
        along_by=(("lookup_depth", "depth"),),
    ),
    Row(
        key="disk.read_latency",
        experiment=("lookup", "lookup_depth"),
        select=_cold_lookup,
        columns=(_lookup_reads, _lower_visits),
        coefficient=0,
        value=_coef,
        offset=_cold_offset,
        shape="linear in reads and lower visits: a cold lookup in a pass (h<k>/f: one read "
        "a layer, 1 for the plain file system; p/c/.../f: 4 x (depth - 1)), less its CPU",
        source="a cold lookup reads each lower copy of the parent, the inodes 512 at a time "
        "(overlay.py _walk_cost; disk.py submit_meta at read_latency)",
        along="layers",
        along_by=(("lookup_depth", "depth"),),
    ),
    Row(
        key="overlay.cold_lookup_per_layer",
        experiment=("lookup", "lookup_depth"),
        select=_cold_lookup,
        columns=(_lookup_reads, _lower_visits),
        coefficient=1,
        value=_coef,
        offset=_cold_offset,
        shape="the same points: the host's first lookup of a name, per lower layer visited",
        source="the host's first lookup of a name in a lower layer allocates that file "
        "system's dentry and inode (overlay.py _walk_cost: cold_lookup_per_layer; "
        "d_alloc_parallel, ext4_lookup, ext4_iget)",
        along="layers",
        along_by=(("lookup_depth", "depth"),),
    ),
    Row(
        key="readdir_open_close",
        experiment=("readdir",),
        select=lambda p: p["state"] == "warm" and p["layers"] == 0,
        columns=(_one, lambda p: float(p["entries"])),
        coefficient=0,
        value=_coef,
        offset=lambda p, k: k["syscall_latency"] + _plain_walk(1.0, k),
        shape="affine in entries: a warm readdir of a plain directory, its intercept less "
        "the syscall and the walk of its one component",
        source="every listing opens its directory, reads to the end (a last getdents64 "
        "finds it) and closes it (local.py _listing: host.readdir_open_close)",
        along="entries",
    ),
    Row(
        key="readdir_per_entry",
        experiment=("readdir",),
        select=lambda p: p["state"] == "warm" and p["layers"] == 0,
        columns=(_one, lambda p: float(p["entries"])),
        coefficient=1,
        value=_coef,
        shape="affine in entries: a warm readdir of a plain directory",
        source="getdents copies one record per entry (local.py _listing: "
        "host.readdir_per_entry per entry)",
        along="entries",
    ),
    Row(
        key="overlay.readdir_per_layer",
        experiment=("readdir",),
        select=_merged_readdir,
        columns=(_one, _layers, lambda p: float(p["entries"])),
        coefficient=1,
        value=_coef,
        offset=_merged_offset,
        shape="affine in layers and entries: a warm readdir of a merged directory of 16 "
        "to 4096 entries over 4-64 layers, less the plain per-entry copy",
        source="a merged directory is read in every layer at each listing (overlay.py "
        "_listing_merged: visited x readdir_per_layer; ovl_dir_read_merged)",
        along="layers",
    ),
    Row(
        key="overlay.readdir_merge_per_entry",
        experiment=("readdir",),
        select=_merged_readdir,
        columns=(_one, _layers, lambda p: float(p["entries"])),
        coefficient=2,
        value=_coef,
        offset=_merged_offset,
        shape="the same points: the merge's cost per entry",
        source="each entry of a merged directory is looked up and inserted in the merge's "
        "rb-tree, allocated, emitted and freed (overlay.py _listing_merged: entries x "
        "readdir_merge_per_entry; ovl_cache_entry_add_rb, ovl_iterate)",
        along="layers",
    ),
    Row(
        key="metadata_update",
        experiment=("copy_up_meta",),
        select=lambda p: p["op"] == "trunc_open" or p["metacopy"] == "on",
        columns=(_meta_updates,),
        coefficient=0,
        value=_coef,
        offset=lambda p, k: (
            k["syscall_latency"]
            + _opens(p) * k["overlay.op_overhead"]
            + _walk({"layers": 1}, k)  # /data/f, looked up by the read before
        ),
        shape="constant: an O_TRUNC open and a metacopy chmod, copy-ups without data (2 "
        "updates; the chmod 1 more)",
        source="a copy-up creates the file in the workdir and renames it (overlay.py "
        "_charge_slow: 2 x metadata_update) [K1]; chmod is one update",
        along="size_bytes",
    ),
    Row(
        key="disk.write_bandwidth",
        experiment=("copy_up",),
        select=lambda p: p["cache"] == "cached",
        columns=(_one, _size),
        coefficient=1,
        value=lambda c, k: _recip(c - 1.0 / k["memory.copy_bandwidth"] - _block_walk(k), k),
        offset=_chunk_hits,
        shape="affine in size: the cached copy-up's slope less the kernel's memory copy and "
        "its writes' walk of each block",
        source="a copy-up copies the file in the kernel, then its fsync writes it to the "
        "upper layer's disk (overlay.py _charge_slow: copy, submit_write(copy_bytes))",
        along="size_bytes",
        unit="B/s",
    ),
    Row(
        key="disk.flush_latency",
        experiment=("data_path",),
        select=_case(*_FSYNCS),
        columns=(_one,),
        coefficient=0,
        value=_coef,
        offset=_fsync_fixed,
        shape="constant: an fsync of 4 KiB (overwrite and append), less its other parts",
        source="an fsync writes the dirty pages back, then waits for the journal commit "
        "(local.py _fsync: submit_write, submit_flush); write_latency stays the ssd "
        "profile's (not separable from the flush)",
        hold_out=False,
    ),
    Row(
        key="overlay.copy_up_flush",
        experiment=("copy_up", "copy_up_meta"),
        select=_data_copy_up,
        columns=(_one,),
        coefficient=0,
        value=_coef,
        offset=_data_copy_up_fixed,
        shape="constant: a copy-up with data of a cached file (a write's, a chmod's "
        "without metacopy), less its copy, write-back and metadata updates",
        source="a copy-up fsyncs the new upper file before renaming it into place "
        "(ovl_copy_up_file: vfs_fsync), the journal commit of a new inode, which an fsync "
        "of an existing file does not wait for (overlay.py _charge_slow: "
        "host.overlay.copy_up_flush)",
        along="size_bytes",
    ),
    Row(
        key="disk.read_bandwidth",
        experiment=("copy_up",),
        select=lambda p: p["cache"] == "cold",
        columns=(_one, _size),
        offset=_chunk_hits,
        coefficient=1,
        value=lambda c, k: _recip(c - _cached_copy_slope(k), k),
        shape="affine in size: cold copy-up slope less the cached one",
        source="a cold copy-up reads the lower file from disk first "
        "(overlay.py _charge_slow: submit_read(missing))",
        along="size_bytes",
        unit="B/s",
    ),
)
"""The fit, one row per parameter, solved in this order."""

# Medians of the twin points, filled by :func:`fit` before a row that needs them.
_TWINS: dict[str, float] = {}


def _twin(p: Params, known: Known) -> float:
    """The median of the matching point the offset compares with: the same case on
    ext4 (for the upper layer), or the overwrite of the same size and file system
    (for an append)."""
    twin = _twin_params(p)
    return _TWINS[f"{twin['target']}:{twin['case']}"]


def _twin_params(p: Params) -> Params:
    """The params of a data-path point's twin point (:func:`_twin`)."""
    case = str(p["case"])
    if p.get("target") == "overlay_upper" and "append" not in case:
        return {**p, "target": "backing"}
    return {**p, "case": case.replace("append", "overwrite")}


@dataclass(slots=True)
class Fitted:
    """One row's outcome.

    Attributes:
        row: the row.
        value: the parameter's value (after ``minimum``), in the row's unit.
        raw: the value the least squares gave, before clamping.
        points: the calibration points used (their :func:`point_key`).
        held_out: the points of the same selection held out for validation.
        r2: the fit's coefficient of determination on its points, unweighted (None
            with no more points than columns, where it means nothing).
        residuals_s: measured minus fitted time of each point used (s).
        clamped: True when ``raw`` was below ``minimum``.
    """

    row: Row
    value: float
    raw: float
    points: list[str]
    held_out: list[str]
    r2: float | None
    residuals_s: list[float] = field(default_factory=list)
    clamped: bool = False


def _median(point: Point) -> float:
    return float(statistics.median(point.samples_s)) if point.samples_s else math.nan


def _selected(doc: Measurements, row: Row) -> list[tuple[str, Point]]:
    found: list[tuple[str, Point]] = []
    for name in row.experiment:
        try:
            experiment = doc.experiment(name)
        except KeyError:
            continue
        found.extend((name, p) for p in experiment.points if row.select(p.params))
    return found


def fit_points(row: Row, chosen: Sequence[tuple[str, Point]]) -> tuple[list[int], list[int]]:
    """Which of ``chosen`` a row fits (indices) and which it holds out.

    Along the row's ``along`` param (``along_by`` for the experiments it names), sorted,
    each experiment's points apart, the points of even rank are fitted and those of odd
    rank held out, so the calibration points span the whole range (the first and, with
    an odd count, the last value among them); a row without ``hold_out`` fits them all.
    """
    if not row.hold_out or not row.along:
        return list(range(len(chosen))), []
    by = dict(row.along_by)
    fitted: list[int] = []
    for name in dict.fromkeys(e for e, _ in chosen):
        along = by.get(name, row.along)
        mine = [i for i, (e, _) in enumerate(chosen) if e == name]
        values = sorted({chosen[i][1].params[along] for i in mine}, key=float)
        fitted_values = set(values[0::2]) | {values[-1]}
        fitted += [i for i in mine if chosen[i][1].params[along] in fitted_values]
    fitted.sort()
    held = [i for i in range(len(chosen)) if i not in fitted]
    return fitted, held


def fit(doc: Measurements) -> list[Fitted]:
    """Solve :data:`FIT_TABLE` on the measurements, row by row.

    A row whose experiment did not run (or whose earlier rows it depends on are
    missing), or whose value is not finite (a bandwidth from a slope of 0 or below), is
    left out of the result.
    """
    _TWINS.clear()
    for name in DATA_PATHS:
        try:
            experiment = doc.experiment(name)
        except KeyError:
            continue
        for p in experiment.points:
            _TWINS[f"{p.params['target']}:{p.params['case']}"] = _median(p)
    known: dict[str, float] = {}
    results: list[Fitted] = []
    for row in FIT_TABLE:
        chosen = _selected(doc, row)
        if not chosen:
            continue
        use, held = fit_points(row, chosen)
        try:
            y = np.array(
                [_median(chosen[i][1]) - row.offset(chosen[i][1].params, known) for i in use]
            )
            a = np.array([[col(chosen[i][1].params) for col in row.columns] for i in use])
        except KeyError:  # an earlier row it needs did not fit
            continue
        if len(use) < len(row.columns) or not np.all(np.isfinite(y)):
            continue
        # Weighted by 1 / the measured time: the points span decades (a 4 KiB write in
        # microseconds, a 1 MiB one in a hundred), and plain least squares would fit
        # the large ones and leave the small ones 100 % off. This minimises the
        # relative residuals instead.
        measured = np.array([_median(chosen[i][1]) for i in use])
        weight = 1.0 / np.maximum(measured, 1e-9)
        coef, *_ = np.linalg.lstsq(a * weight[:, None], y * weight, rcond=None)
        predicted = a @ coef
        residuals = y - predicted
        r2: float | None = None
        if len(use) > len(row.columns) > 1:  # R^2 of a constant says nothing
            total = float(np.sum((y - y.mean()) ** 2))
            r2 = 1.0 - float(np.sum(residuals**2)) / total if total > 0 else None
        raw = row.value(float(coef[row.coefficient]), known)
        if not math.isfinite(raw):
            # A bandwidth whose slope fits at 0 or below (noise: a cold copy-up no slower
            # than a cached one) is not measured: left out, its default kept, and the
            # rows that need it with it.
            continue
        value = max(raw, row.minimum)
        known[row.key] = value
        results.append(
            Fitted(
                row=row,
                value=value,
                raw=raw,
                points=[point_key(chosen[i][0], chosen[i][1].params) for i in use],
                held_out=[point_key(chosen[i][0], chosen[i][1].params) for i in held],
                r2=r2,
                residuals_s=[float(r) for r in residuals],
                clamped=value != raw,
            )
        )
    return results
