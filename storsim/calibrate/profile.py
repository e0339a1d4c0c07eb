"""The host profile file: the fitted values as ``host:`` keys, and how each was fitted.

Like a calibration certificate that gives each corrected reading with the reference it
was checked against and the uncertainty, the profile holds every value of
:func:`~storsim.calibrate.fit.fit` under its YAML key (units written out: ``1.33 us``,
``716 MB/s``), a comment on its line naming the shape and R^2, and a ``fit:`` block
the scenario loader ignores: per value its experiment, shape, source, the calibration
points, the held-out points, R^2 and the residuals. Values for keys the model does not
have yet go under ``pending:`` (applied by the loader once the model has them).
"""

from __future__ import annotations

import io
import math
import statistics
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from ruamel.yaml import YAML

from storsim.calibrate.fit import Fitted
from storsim.calibrate.schema import Measurements
from storsim.scenario.host import HostSpec

__all__ = ["DISK_PROFILE", "disk_service", "known_key", "profile_text"]

DISK_PROFILE = "ssd"
"""The disk profile the fitted figures override: its service shape (h2) and queue depth
stay, as calibrate does not measure them."""


def known_key(dotted: str) -> bool:
    """Whether ``HostSpec`` (on this version of storsim) has the dotted host key."""
    model: type[BaseModel] = HostSpec
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        info = model.model_fields.get(part)
        if info is None:
            return False
        if i == len(parts) - 1:
            return True
        sub = info.annotation
        if not (isinstance(sub, type) and issubclass(sub, BaseModel)):
            # Annotated[...] fields (disk) keep their model in the metadata's origin
            sub = getattr(info, "annotation", None)
            args = getattr(sub, "__args__", ())
            found = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            if not found:
                return False
            sub = found[0]
        model = sub
    return False


# Below this spread (standard deviation over mean) of the disk-bound times, a disk's
# access times are modelled as fixed: h2's mean is 1.7 times its median (1 % of accesses
# 20 times slower), which would put the simulated medians 40 % under the measured ones
# that the fit gives as latencies.
FIXED_BELOW_CV = 0.5


def disk_service(doc: Measurements) -> tuple[str, float]:
    """The disk's service shape for the profile, and the spread it was chosen on: the
    median coefficient of variation of the copy-up and ext4 fsync points."""
    spreads: list[float] = []
    for name, keep in (("copy_up", None), ("data_path", "fsync")):
        try:
            experiment = doc.experiment(name)
        except KeyError:
            continue
        for point in experiment.points:
            if keep is not None and point.params.get("op") != keep:
                continue
            s = point.samples_s
            if len(s) > 1 and statistics.fmean(s) > 0:
                spreads.append(statistics.pstdev(s) / statistics.fmean(s))
    spread = statistics.median(spreads) if spreads else 1.0
    return ("fixed" if spread < FIXED_BELOW_CV else "h2"), spread


def _quantity(value: float, unit: str) -> str:
    if not math.isfinite(value):
        raise ValueError(f"not a finite value: {value}")
    if unit == "B/s":
        return f"{value / 1e6:.4g} MB/s"
    if value == 0:
        return "0 s"
    for name, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if float(f"{value / scale:.4g}") >= 1:  # 0.99999 ms is "1 ms", not "1000 us"
            return f"{value / scale:.4g} {name}"
    return f"{value / 1e-9:.4g} ns"


def _put(tree: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    for part in parts[:-1]:
        tree = tree.setdefault(part, {})
    tree[parts[-1]] = value


def profile_text(fitted: Sequence[Fitted], doc: Measurements, source: str) -> str:
    """The profile file's text.

    Args:
        fitted: the fit's rows (:func:`~storsim.calibrate.fit.fit`).
        doc: the measurements they came from (for the header).
        source: the measurement file's name, for the header.
    """
    host = doc.host
    backing = host.get("backing", {})
    header = [
        "# storsim host profile, fitted by `storsim calibrate` (least squares on the",
        "# model's shapes: storsim/calibrate/fit.py) from the measurements of",
        f"#   {source}: {doc.mode} run of {doc.created_utc}, {host.get('cpus')} CPUs,",
        f"#   kernel {host.get('kernel')}, backing {backing.get('fs_type')} on "
        f"{backing.get('source')}.",
        "# Use: `host: {profile: ./this.yaml}` in a scenario (its own host keys win), or",
        "# `storsim run --host this.yaml`. Check: `storsim validate this.yaml`.",
        "# fit: below, per value: its experiment, shape, calibration and held-out points,",
        "# R^2 (unweighted) and residuals (s). A value below its minimum was clamped.",
        "",
    ]
    service, spread = disk_service(doc)
    applied: dict[str, Any] = {
        "cpus": int(host.get("cpus") or 2),
        "disk": {"profile": DISK_PROFILE, "service": service},
    }
    pending: dict[str, Any] = {}
    notes: dict[str, str] = {
        "disk.service": f"median coefficient of variation of copy-up and fsync times {spread:.2f}"
    }
    for f in fitted:
        text = _quantity(f.value, f.row.unit)
        _put(applied if known_key(f.row.key) else pending, f.row.key, text)
        r2 = "n/a" if f.r2 is None else f"{f.r2:.3f}"
        clamp = f", clamped to 0 from -{_quantity(abs(f.raw), f.row.unit)}" if f.clamped else ""
        notes[f.row.key] = f"{'+'.join(f.row.experiment)}, {len(f.points)} points, R^2 {r2}{clamp}"
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 100
    out = io.StringIO()
    yaml.dump(applied, out)
    body = _annotate(out.getvalue(), notes, "")
    if pending:
        out = io.StringIO()
        yaml.dump({"pending": pending}, out)
        body += (
            "# Fitted for parameters this storsim does not have yet (issue 10): the loader\n"
            "# applies each one as soon as the model has its key, and ignores it until then.\n"
            + _annotate(out.getvalue(), notes, "")
        )
    record = [
        {
            "key": f.row.key,
            "value": _quantity(f.value, f.row.unit),
            "applied": known_key(f.row.key),
            "experiment": list(f.row.experiment),
            "shape": f.row.shape,
            "source": f.row.source,
            "r2": None if f.r2 is None else round(f.r2, 4),
            "clamped": f.clamped,
            "raw": float(f"{f.raw:.6g}"),
            "points": f.points,
            "residuals_s": [float(f"{r:.4g}") for r in f.residuals_s],
            "held_out": f.held_out,
        }
        for f in fitted
    ]
    out = io.StringIO()
    yaml.dump({"fit": record}, out)
    return "\n".join(header) + body + out.getvalue()


def _annotate(text: str, notes: dict[str, str], prefix: str) -> str:
    """Add each value's note as a comment at the end of its line."""
    lines = []
    stack: list[tuple[int, str]] = []
    for line in text.splitlines():
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        key = stripped.split(":", 1)[0]
        while stack and stack[-1][0] >= indent:
            stack.pop()
        dotted = ".".join([k for _, k in stack] + [key])
        if dotted.startswith("pending."):
            dotted = dotted[len("pending.") :]
        note = notes.get(dotted)
        if stripped.endswith(":"):
            stack.append((indent, key))
        lines.append(f"{line}  # {note}" if note else line)
    return "\n".join(lines) + "\n"
