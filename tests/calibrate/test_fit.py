"""The fit, the host profile file and its loading: exact on synthetic measurements made
from known parameters (the model's own shapes), no measured time involved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from storsim import load_scenario
from storsim.calibrate.fit import FIT_TABLE, SSD_WRITE_LATENCY_S, fit, point_key
from storsim.calibrate.profile import known_key, profile_text
from storsim.calibrate.schema import Experiment, Measurements, Point
from storsim.errors import ScenarioError
from storsim.scenario.profile import read_host_profile, read_profile_fit

ROOT = Path(__file__).resolve().parents[2]
SYSCALL, HIT, COPY = 2e-6, 1e-6, 4e9  # s, s, B/s
OP, EXTEND, METADATA = 0.5e-6, 0.3e-6, 10e-6  # s
PER_LAYER, READ_LAT = 1.5e-6, 80e-6
WRITE_BW, READ_BW = 500e6, 2e9
FLUSH, NOOP = 1e-3, 0.25e-6
PER_ENTRY, PER_DIR_LAYER, MERGE = 0.2e-6, 3e-6, 0.4e-6
COMPONENT, WALK, WALK_LAYER, COLD = 2.5e-6, 0.75e-6, 20e-9, 1.25e-6
GETATTR, OPEN_CLOSE, COMMIT = 0.4e-6, 6e-6, 250e-6
BH, LOCAL_WALK = 12e-9, 0.3e-6  # a buffer head walked; a component of a plain walk
FOLIO = 0.35e-6  # a folio a buffered write goes through
FOLIO_READ = 0.15e-6  # a folio a cached read goes through
WRITE_OVH = 0.45e-6  # a buffered write call's own checks
WRITE_LAT = SSD_WRITE_LATENCY_S  # kept from the profile: not separable from the flush


def _point(params: dict[str, Any], t: float) -> Point:
    return Point(params=params, samples_s=[t * 0.99, t, t * 1.01])


def _experiment(name: str, points: list[Point]) -> Experiment:
    return Experiment(name=name, description="", where="", duration_s=1.0, points=points)


def _data_path(target: str) -> Experiment:
    points = []
    over = OP if target == "overlay_upper" else 0.0
    for case, op, size in (
        ("write_small_overwrite", "write", 4096),
        ("write_large_overwrite", "write", 1 << 20),
        ("write_small_append", "write", 4096),
        ("write_large_append", "write", 1 << 20),
        ("read_small_cached", "read", 4096),
        ("read_large_cached", "read", 1 << 20),
        ("fsync_small_overwrite", "fsync", 4096),
    ):
        if op == "fsync":
            t = SYSCALL + WRITE_LAT + size / WRITE_BW + FLUSH if target != "tmpfs" else NOOP
        else:
            # a read's page-cache hit (not on tmpfs), a write's own checks
            hit = HIT if op == "read" and target != "tmpfs" else 0.0
            t = SYSCALL + over + hit + (WRITE_OVH if op == "write" else 0.0) + size / COPY
            if "append" in case:
                t += EXTEND * size / 4096
            if op == "read":  # the folios it copies out: 4 KiB ones on tmpfs, else one
                # (calibrate's files: 1 MiB folios; a copied-up one's, 64 KiB)
                folio = 4096 if target == "tmpfs" else (64 << 10 if over else 1 << 20)
                t += FOLIO_READ * -(-size // folio)
            if op == "write" and target == "tmpfs":  # 4 KiB folios, no buffer heads
                t += FOLIO * (size // 4096)
            elif op == "write":  # the folios it goes through and their blocks
                # calibrate's files: 1 MiB folios; a copied-up one's, 64 KiB; an append's,
                # its own size
                folio = size if "append" in case else (64 << 10 if over else 1 << 20)
                folios = -(-size // folio)
                t += FOLIO * folios + BH * (folios * folio // 4096)
        params = {"target": target, "case": case, "op": op, "size_bytes": size}
        points.append(_point(params, t))
    suffix = {"backing": "", "tmpfs": "_tmpfs", "overlay_upper": "_overlay"}[target]
    return _experiment(f"data_path{suffix}", points)


def _doc(readdir: bool = True) -> Measurements:
    """Measurements made with the model's own counts (those of the validation plans:
    a stat of h<k>/f visits 2 x layers + 1 layers and, cold, reads its layers' copies
    of h<k> and looks its 2 names up in each layer for the host's first time; a stat of
    p/c/.../f of D components through 4 layers visits 4 D + 1, reads 4 (D - 1))."""

    def walk(components: int, visits: int, opens: bool = False) -> float:
        """A walk on the overlay, and its call (a path call opens no file: no OP)."""
        return SYSCALL + (OP if opens else 0.0) + components * WALK + visits * WALK_LAYER

    def first(components: int, visits: int) -> float:
        return walk(components, visits) + GETATTR + components * COMPONENT + visits * PER_LAYER

    plain = SYSCALL + 2 * LOCAL_WALK  # a stat of h<k>/f on the plain file system
    lookup = [
        _point({"layers": 0, "result": "hit", "state": "warm"}, plain + GETATTR),
        _point({"layers": 0, "result": "miss", "state": "warm"}, plain),
    ]
    for layers in (1, 2, 4, 8, 16):
        visits, reads = 2 * layers + 1, layers
        for state, t in (
            ("warm", walk(2, visits) + GETATTR),
            ("fresh", first(2, visits)),
            ("cold", first(2, visits) + reads * READ_LAT + 2 * layers * COLD),
        ):
            lookup.append(_point({"layers": layers, "result": "hit", "state": state}, t))
        # a miss walks the same and fails before getattr
        lookup.append(
            _point({"layers": layers, "result": "miss", "state": "warm"}, walk(2, visits))
        )
    depth = []
    for d in (1, 2, 4, 8, 16):
        for state, t in (
            ("warm", walk(d, 4 * d + 1) + GETATTR),
            ("fresh", first(d, 4 * d + 1)),
            ("cold", first(d, 4 * d + 1) + 4 * (d - 1) * READ_LAT + 4 * d * COLD),
        ):
            depth.append(_point({"depth": d, "layers": 4, "state": state}, t))
    opened = walk(2, 3)  # /data/f, looked up by the read before

    def copy(size: int, updates: int) -> float:
        """A copy-up with data of a cached file: its chunks' hits, copy, the walk of its
        blocks, write-back and commit, its metadata updates, and a write's overlay call
        (a chmod's, none)."""
        chunks = -(-size // (1 << 20))
        data = chunks * HIT + size * (1 / COPY + 1 / WRITE_BW) + WRITE_LAT + COMMIT
        data += BH * (size // 4096) + FOLIO * -(-size // (64 << 10))  # 64 KiB folios
        return opened + (OP if updates == 2 else 0.0) + data + updates * METADATA

    copy_up = []
    for size in (4096, 1 << 20, 4 << 20, 8 << 20, 16 << 20):
        cached = copy(size, 2) + WRITE_OVH  # the 1-byte write's own checks
        copy_up.append(_point({"size_bytes": size, "cache": "cached"}, cached))
        copy_up.append(_point({"size_bytes": size, "cache": "cold"}, cached + size / READ_BW))
    meta = []
    for op, metacopy in (("trunc_open", "off"), ("chmod", "on"), ("chmod", "off")):
        for size in (4096, 1 << 20, 64 << 20):
            if metacopy == "off" and op == "chmod":
                t = copy(size, 3)
            else:  # an O_TRUNC open is a call on the file: the overlay's call
                t = opened + (OP + 2 * METADATA if op == "trunc_open" else 3 * METADATA)
            meta.append(_point({"op": op, "metacopy": metacopy, "size_bytes": size}, t))
    listing = []
    for layers, entries in (
        *((0, n) for n in (16, 256, 4096)),
        *((n, e) for n in (4, 16, 64) for e in (16, 256, 4096)),
    ):
        t = SYSCALL + LOCAL_WALK + OPEN_CLOSE + entries * PER_ENTRY
        if layers:
            t = walk(1, layers + 1, opens=True) + OPEN_CLOSE + layers * PER_DIR_LAYER
            t += entries * (PER_ENTRY + MERGE)
        listing.append(_point({"layers": layers, "entries": entries, "state": "warm"}, t))
    experiments = [
        _data_path("backing"),
        _data_path("tmpfs"),
        _data_path("overlay_upper"),
        _experiment("lookup", lookup),
        _experiment("lookup_depth", depth),
        _experiment("copy_up", copy_up),
        _experiment("copy_up_meta", meta),
    ]
    if readdir:
        experiments.append(_experiment("readdir", listing))
    return Measurements(created_utc="2026-01-01T00:00:00+00:00", storsim_version="0",
                        mode="quick", argv=[], duration_s=1.0, host={"cpus": 4},
                        experiments=experiments, skipped=[])  # fmt: skip


def test_fit_recovers_the_parameters_the_measurements_were_made_from() -> None:
    """Measurements built with the model's formulas from known parameters give back those
    parameters, row by row, to within the samples' rounding."""
    got = {f.row.key: f.value for f in fit(_doc())}
    expected = {
        "syscall_latency": SYSCALL,
        "memory.cache_hit_latency": HIT,
        "memory.copy_bandwidth": COPY,
        "overlay.op_overhead": OP,
        "extend_write": EXTEND,
        "buffer_head_walk": BH,
        "folio_write": FOLIO,
        "folio_read": FOLIO_READ,
        "write_overhead": WRITE_OVH,
        "walk_per_component": LOCAL_WALK,
        "noop_syscall_latency": NOOP,
        "overlay.walk_per_component": WALK,
        "overlay.walk_per_layer": WALK_LAYER,
        "getattr_latency": GETATTR,
        "overlay.lookup_per_component": COMPONENT,
        "overlay.lookup_per_layer": PER_LAYER,
        "disk.read_latency": READ_LAT,
        "overlay.cold_lookup_per_layer": COLD,
        "readdir_open_close": OPEN_CLOSE,
        "readdir_per_entry": PER_ENTRY,
        "overlay.readdir_per_layer": PER_DIR_LAYER,
        "overlay.readdir_merge_per_entry": MERGE,
        "metadata_update": METADATA,
        "disk.write_bandwidth": WRITE_BW,
        "disk.flush_latency": FLUSH,
        "overlay.copy_up_flush": COMMIT,
        "disk.read_bandwidth": READ_BW,
    }
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-6), key


def test_a_row_whose_experiment_did_not_run_is_left_out() -> None:
    """Without a readdir experiment the fit has no readdir rows, and the others stay."""
    got = {f.row.key for f in fit(_doc(readdir=False))}
    assert "readdir_per_entry" not in got
    assert "readdir_open_close" not in got
    assert "overlay.readdir_per_layer" not in got
    assert "overlay.readdir_merge_per_entry" not in got
    assert "disk.flush_latency" in got


def test_the_fit_holds_out_every_other_point_along_its_sweep() -> None:
    """A row with a sweep fits the points of even rank (and the last) and holds out the
    others; its calibration points are named as validation names them."""
    rows = {f.row.key: f for f in fit(_doc())}
    per_layer = rows["overlay.lookup_per_layer"]
    assert per_layer.points == [
        point_key("lookup", {"layers": n, "result": "hit", "state": "fresh"}) for n in (1, 4, 16)
    ] + [point_key("lookup_depth", {"depth": d, "layers": 4, "state": "fresh"}) for d in (1, 4, 16)]
    assert len(per_layer.held_out) == 4  # layers 2 and 8, depths 2 and 8
    assert per_layer.r2 == pytest.approx(1.0)


def test_a_negative_fit_is_clamped_and_said_so() -> None:
    """A cost that fits below zero (noise) is written as 0 and marked clamped."""
    doc = _doc()
    for point in doc.experiment("data_path").points:
        if point.params["case"] == "write_large_append":  # cheaper than the overwrite
            point.samples_s = [1e-9] * 3
    row = next(f for f in fit(doc) if f.row.key == "extend_write")
    assert row.value == 0.0
    assert row.raw < 0
    assert row.clamped


def test_a_bandwidth_from_a_slope_of_zero_is_left_out() -> None:
    """Cold copy-ups no slower than cached ones (noise) give no read bandwidth: the row
    is left out (the default stays) instead of writing an infinite one."""
    doc = _doc()
    cached = {
        p.params["size_bytes"]: p.samples_s
        for p in doc.experiment("copy_up").points
        if p.params["cache"] == "cached"
    }
    for point in doc.experiment("copy_up").points:
        if point.params["cache"] == "cold":
            point.samples_s = list(cached[point.params["size_bytes"]])
    got = {f.row.key for f in fit(doc)}
    assert "disk.read_bandwidth" not in got
    assert "disk.write_bandwidth" in got


def test_every_row_names_an_experiment_and_a_key() -> None:
    """The table is well formed: one row per key, each with a shape and a source."""
    keys = [row.key for row in FIT_TABLE]
    assert len(keys) == len(set(keys))
    assert all(row.experiment and row.shape and row.source for row in FIT_TABLE)


def test_profile_writes_known_keys_and_keeps_the_others_pending(tmp_path: Path) -> None:
    """The profile puts each fitted key the model has under its place, the others under
    pending:, and the loader reads back exactly the applied values and the fit points."""
    fitted = fit(_doc())
    path = tmp_path / "host.yaml"
    path.write_text(profile_text(fitted, _doc(), "m.json"))
    host = read_host_profile(str(path))
    assert host["cpus"] == 4
    assert host["disk"]["flush_latency"] == "1 ms"
    assert "write_latency" not in host["disk"]  # the ssd profile's: not fitted
    assert host["syscall_latency"] == "2 us"
    for f in fitted:
        top = f.row.key.split(".")[0]
        assert (top in host) == known_key(f.row.key) or top in ("disk", "memory", "overlay")
    assert read_profile_fit(str(path)) == {p for f in fitted for p in f.points}


def _scenario(tmp_path: Path, host: str) -> Path:
    path = tmp_path / "s.yaml"
    text = (ROOT / "scenarios" / "copy-up.yaml").read_text()
    path.write_text(text.replace("host:\n  disk: ssd\n", host))
    return path


def test_a_scenario_uses_its_profile_and_overrides_it(tmp_path: Path) -> None:
    """host: {profile: ./FILE} (relative to the scenario) fills the host keys the
    scenario does not set; the scenario's own keys win."""
    (tmp_path / "hosts").mkdir()
    (tmp_path / "hosts" / "h.yaml").write_text(
        "cpus: 8\nsyscall_latency: 3 us\ndisk: {profile: ssd, read_latency: 40 us}\n"
        "fit: [{key: cpus, points: [x]}]\npending: {no_such_key: 1 s}\n"
    )
    scenario = load_scenario(
        _scenario(tmp_path, "host:\n  profile: ./hosts/h.yaml\n  cpus: 2\n  disk: ssd\n")
    )
    assert scenario.host.cpus == 2
    assert scenario.host.syscall_latency == pytest.approx(3e-6)
    assert scenario.host.disk.read_latency == pytest.approx(40e-6)


def test_a_scenario_latency_shorthand_beats_the_profiles_latencies(tmp_path: Path) -> None:
    """disk.latency in the scenario sets all three latencies, over the profile's."""
    (tmp_path / "h.yaml").write_text("disk: {profile: ssd, read_latency: 40 us}\n")
    path = _scenario(tmp_path, "host:\n  disk: {profile: ssd, latency: 1 ms}\n")
    scenario = load_scenario(path, host_profile=tmp_path / "h.yaml")
    assert scenario.host.disk.read_latency is None  # the shorthand applies
    assert scenario.host.disk.latency == pytest.approx(1e-3)


def test_a_bad_profile_is_one_error_naming_its_file(tmp_path: Path) -> None:
    """A profile value that breaks a rule is reported with the profile's file and line."""
    (tmp_path / "h.yaml").write_text("cpus: 2\nsyscall_latency: fast\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(_scenario(tmp_path, "host:\n  profile: h.yaml\n"))
    assert caught.value.file == str(tmp_path / "h.yaml")
    assert caught.value.line == 2


def test_the_shipped_profile_loads_under_every_shipped_scenario() -> None:
    """scenarios/hosts/dev-machine.yaml is a valid profile under each shipped scenario."""
    profile = ROOT / "scenarios" / "hosts" / "dev-machine.yaml"
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        scenario = load_scenario(path, host_profile=profile)
        assert scenario.host.memory.copy_bandwidth is not None
