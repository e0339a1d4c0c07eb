"""Hostile scenario files, generated from the shipped ones by seeded mutations.

Like a crash-test lab that drives the same car into a different wall every time, each
case takes a shipped scenario (usually shrunk first, so that a valid case runs in well
under a second) and breaks it in one to three ways a hostile or careless user would:
dropped keys, wrong types, huge and odd numbers, bad units, control and Unicode
characters, deep nesting, duplicate keys, YAML alias bombs, Python tags, binary
garbage, bad path templates, relative and root paths, huge counts; or it is not a
scenario file at all (a FIFO, ``/dev/zero``, a directory, a file too large).

:func:`make_case` is a pure function of ``(seed, index)``: the same case is the same
bytes on every machine, so a failure found in a long campaign is replayed by its index.
"""

from __future__ import annotations

import copy
import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

SHIPPED = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))

#: A file that a Python tag would create if a tag ever executed code (it never must).
CANARY = "storsim-fuzz-canary"


@dataclass(frozen=True)
class Case:
    """One generated case.

    Attributes:
        index: its number in the campaign.
        base: the shipped scenario it came from.
        mutations: what was done to it, in order.
        data: the file's bytes (for ``special`` None).
        special: ``"fifo"``, ``"devzero"``, ``"dir"``, ``"devlink"``, ``"huge"`` or None.
    """

    index: int
    base: str
    mutations: tuple[str, ...]
    data: bytes | None
    special: str | None = None

    def write(self, folder: Path) -> Path:
        """Put the case in ``folder`` and return the path to hand to storsim."""
        import os

        path = folder / f"case-{self.index}.yaml"
        if self.special == "fifo":
            os.mkfifo(path)
        elif self.special == "devzero":
            return Path("/dev/zero")
        elif self.special == "devlink":
            path.symlink_to("/dev/zero")
        elif self.special == "dir":
            path.mkdir()
        elif self.special == "huge":
            with path.open("wb") as handle:  # sparse: 64 MiB of NULs, no disk used
                handle.truncate(64 * 2**20)
        else:
            assert self.data is not None
            path.write_bytes(self.data)
        return path


def _load(path: Path) -> Any:
    from storsim.scenario.messages import plain

    return plain(YAML(typ="rt", pure=True).load(path.read_text()))


_BASES: dict[str, Any] = {}


def _base(path: Path) -> Any:
    if path.name not in _BASES:
        _BASES[path.name] = _load(path)
    return copy.deepcopy(_BASES[path.name])


def shrink(data: Any) -> Any:
    """A shipped scenario made small: short durations, few replicas, threads and files,
    so that a case that stays valid runs in a fraction of a second."""

    def walk(node: Any, key: str | None) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, key) for v in node]
        if key in ("count", "replicas", "threads") and isinstance(node, int):
            return min(node, {"count": 40, "replicas": 2, "threads": 3}[key])
        if key == "duration" and node is not None:
            return "2 s"
        if key == "rate":
            return "50/s"
        return node

    out = walk(data, None)
    for image in out.get("images", {}).values():
        for layer in image.get("layers", []):
            for gen in layer.get("generate", []):
                gen["count"] = min(gen.get("count", 1), 60)
    return out


# --- hostile values ------------------------------------------------------------------

_NUMBERS: list[Any] = [
    0, -1, 1, -0.0, 0.5, 7, 2**31, 2**53, 2**63, 2**64, 10**12, 10**400, -(10**400),
    1e308, -1e308, 1e-320, 3.3e-7, 1e9, 1e15, 100_000, 10_000, 10_000_000,
]  # fmt: skip
_STRINGS: list[str] = [
    "", " ", "\t", "\x00", "\x1b[2J", "\x85", "\u2028", "\u202e", "\u200b", "\ufeff",
    "é", "日本", "😀", "a" * 5000, ".nan", ".inf", "-.inf", "1e400", "0x10", "1_000",
    "yes", "null", "~", "4 KiB", "4 XB", "-1 KiB", "1e30 B", "1e400 KiB", "nan KiB",
    "2 ms", "-2 ms", "1e9 s", "1e400 s", "0 s", "100/s", "1e12/s", "0/s", "5/0 s",
    "5/1e-400 s", "500 MB/s", "0 MB/s", "1e-300 B/s", "/", "/..", "//", "///x/../..",
    "relative/path", "./config", "../../../etc", "/etc/passwd", "/x/{i}", "/x/{nope}",
    "/x/{i[0]}", "/x/{i.real}", "/x/{__class__}", "/x/{", "/x/}", "/x/{i:>999999999}",
    "/x/{i!r}", "/x/{i:04d}", "{i}", "/x/\x00y", "/" + "d/" * 3000, "nas:/export",
    "nas:relative", "ssd", "floppy", "nfs", "run", "rm", "rm\u200b", "start ", "flock",
    "fcntl", "zipf", "sequential", "same", "end", "lognormal", "distributed_bind",
    "x" * 300, "ro", ":", "a:b:c:d", "tmpfs", "bind", "volume",
]  # fmt: skip
_SHAPES: list[Any] = [None, True, False, [], {}, [1, 2], {"a": 1}, [[[]]], {"dist": "weird"}]
_KEYS = [
    "count", "replicas", "threads", "rate", "duration", "size", "median", "sigma", "at",
    "think", "start", "page_cache", "latency", "read_bandwidth", "write_bandwidth",
    "queue_depth", "rtt", "bandwidth", "fanout", "max_layers", "seed", "mean", "min", "max",
    "offset", "mode", "zipf_s", "attr_cache_min", "attr_cache_max", "server_queue_depth",
    "syscall_latency", "path", "to", "dir", "target", "source", "action", "op", "lock",
    "max_folio", "buffer_head_walk", "folio_write", "folio_read", "write_overhead",
    "walk_per_component",
]  # fmt: skip
_HUGE = {
    "count": [10**12, 2**53, 10**7], "replicas": [10_000, 5_000], "threads": [100_000, 50_000],
    "rate": ["1e9/s", "1e8/s"], "duration": ["1e9 s", "1e6 s"], "size": ["8 PiB", "1 TiB"],
    "median": ["1 TiB", "1 PiB"], "fanout": [1, 10**9], "queue_depth": [10**9],
}  # fmt: skip
_CHARS = ["\x00", "\x01", "\x07", "\x1b", "\x7f", "\x85", "\u2028", "\u2029", "\u200b",
          "\u202e", "\ufeff", "\t", "\r", "\ud800", "é", "😀", "\\", '"', "'", "{", "}",
          "&", "*", "!", "%", "@", "`", "|", ">", "#", "-", ":", "[", "]"]  # fmt: skip


def _hostile(rng: random.Random) -> Any:
    pool = rng.choice([_NUMBERS, _STRINGS, _STRINGS, _SHAPES])
    return copy.deepcopy(rng.choice(pool))


# --- tree mutations --------------------------------------------------------------------


def _slots(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in the tree that holds a value: (path to it)."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((*path, k))
            out += _slots(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append((*path, i))
            out += _slots(v, (*path, i))
    return out


def _get(tree: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        tree = tree[part]
    return tree


def _drop_key(tree: Any, rng: random.Random) -> str:
    slots = [s for s in _slots(tree) if isinstance(_get(tree, s[:-1]), dict)]
    slot = rng.choice(slots)
    del _get(tree, slot[:-1])[slot[-1]]
    return f"drop {slot}"


def _set(tree: Any, rng: random.Random, keys: Any = None, values: Any = None) -> str:
    """Set a random place (one whose key is in ``keys``, if given) to a hostile value (or
    one of ``values[key]``); any place when the tree has none of those keys."""
    slots = [s for s in _slots(tree) if keys is None or (s and s[-1] in keys)]
    if not slots:
        slots = _slots(tree)
        values = None
    slot = rng.choice(slots)
    value = _hostile(rng) if values is None else rng.choice(values[slot[-1]])
    _get(tree, slot[:-1])[slot[-1]] = value
    return f"set {slot} = {value!r:.40}"


def _set_value(tree: Any, rng: random.Random) -> str:
    return _set(tree, rng)


def _set_known(tree: Any, rng: random.Random) -> str:
    """Set a key that the format knows (count, size, path...) to a hostile value."""
    return _set(tree, rng, _KEYS)


def _huge(tree: Any, rng: random.Random) -> str:
    """Set a count, rate, duration or size to a huge one."""
    return _set(tree, rng, _HUGE, _HUGE)


def _scale(tree: Any, rng: random.Random) -> str:
    """Multiply a number (or the number of a quantity) by an odd factor."""
    slots = [s for s in _slots(tree) if isinstance(_get(tree, s), int | float | str)]
    slot = rng.choice(slots)
    value = _get(tree, slot)
    factor = rng.choice([0, -1, 1e-9, 1e3, 1e6, 1e12, 1e300])
    if isinstance(value, bool):
        new: Any = not value
    elif isinstance(value, int | float):
        new = value * factor
    else:
        head, _, unit = value.partition(" ")
        try:
            new = f"{float(head) * factor:g} {unit}".strip()
        except ValueError:
            new = value + rng.choice(_CHARS)
    _get(tree, slot[:-1])[slot[-1]] = new
    return f"scale {slot} x {factor:g}"


def _wrong_type(tree: Any, rng: random.Random) -> str:
    slot = rng.choice(_slots(tree))
    value = _get(tree, slot)
    new = [value] if not isinstance(value, list) else {"x": value}
    _get(tree, slot[:-1])[slot[-1]] = new
    return f"wrap {slot}"


def _unknown_key(tree: Any, rng: random.Random) -> str:
    slots = [()] + [s for s in _slots(tree) if isinstance(_get(tree, s), dict)]
    slot = rng.choice(slots)
    key = rng.choice(["x-prefill", "x-note", "colour", "ports", "\u200bname", "1", "", "x" * 80])
    value: Any = _hostile(rng)
    if key == "x-prefill":
        value = {rng.choice(["/data", "/", "rel", "/app/ToDoList.dll"]): {"files": {"/f": 5}}}
    _get(tree, slot)[key] = value
    return f"add {slot}.{key!r}"


def _lifecycle(tree: Any, rng: random.Random) -> str:
    services = tree.get("services")
    if not isinstance(services, dict) or not services:
        return _set_value(tree, rng)
    svc = rng.choice(list(services.values()))
    if not isinstance(svc, dict):
        return _set_value(tree, rng)
    actions = ["run", "stop", "start", "rm"]
    events = [
        {"at": f"{rng.choice([0, 0.5, 1, 1, 2, 5])} s", "action": rng.choice(actions)}
        for _ in range(rng.randint(1, 6))
    ]
    events[0]["action"] = "run"
    events.sort(key=lambda e: float(e["at"].split()[0]))
    svc["lifecycle"] = events
    return "lifecycle " + ",".join(e["action"] for e in events)


def _template(tree: Any, rng: random.Random) -> str:
    slots = [s for s in _slots(tree) if s and s[-1] in ("path", "to")]
    if not slots:
        return _set_value(tree, rng)
    slot = rng.choice(slots)
    value = rng.choice(
        ["/x/{i}", "/x/{nope}", "/x/{i[0]}", "/x/{i.real}", "/x/{__class__}", "/x/{",
         "/x/}", "/x/{i:>999999999}", "/x/{i!r}", "/x/{i:04d}/{thread}", "{i}", "/{i}/..",
         "/x/{{i}}", "/x/{run}-{start}-{replica}", "/x/{i:{thread}}", "rel/{i}", "/", "/.."]
    )  # fmt: skip
    _get(tree, slot[:-1])[slot[-1]] = value
    return f"template {slot} = {value!r}"


def _paths(tree: Any) -> list[str]:
    """Every absolute path the tree names (values, and keys such as those of files:)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if isinstance(k, str) and k.startswith("/"):
                    found.add(k)
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, str):
            for part in node.split(":"):
                if part.startswith("/") and "{" not in part and "*" not in part:
                    found.add(part)

    walk(tree)
    return sorted(found) or ["/x"]


def _places(tree: Any, key: str) -> list[dict[str, Any]]:
    """The mappings of the tree that are image layers (key "layers") or services."""
    out: list[dict[str, Any]] = []
    if key == "layers":
        for image in (tree.get("images") or {}).values():
            if isinstance(image, dict) and isinstance(image.get("layers"), list):
                out += [layer for layer in image["layers"] if isinstance(layer, dict)]
    else:
        out = [svc for svc in (tree.get("services") or {}).values() if isinstance(svc, dict)]
    return out


def _conflict(tree: Any, rng: random.Random) -> str:
    """Make two parts of the file disagree about one path: an entry below a file, a path
    given as two kinds, a mount or a compared path on a file, a population below one."""
    path = rng.choice(_paths(tree))
    kind = rng.choice(["below", "twice", "mount", "compare", "generate", "source", "workload"])
    layers, services = _places(tree, "layers"), _places(tree, "services")
    if kind in ("below", "twice", "generate") and layers:
        layer = rng.choice(layers)
        if kind == "below":
            layer.setdefault("files", {})[path + "/x"] = 1
        elif kind == "twice":
            what = rng.choice(["dirs", "delete", "opaque", "symlinks", "files"])
            if what in ("symlinks", "files"):
                layer.setdefault(what, {})[path] = "t" if what == "symlinks" else 5
            else:
                layer.setdefault(what, []).append(path)
        else:
            parent, _, name = path.rpartition("/")
            layer.setdefault("generate", []).append(
                rng.choice(
                    [{"dir": path, "count": 3}, {"dir": path + "/g", "count": 3},
                     {"dir": parent or "/", "count": 3, "prefix": name[:-6] or "f"},
                     {"dir": parent or "/", "count": 300, "fanout": 1, "prefix": "d"}]
                )
            )  # fmt: skip
    elif kind == "mount" and services:
        svc = rng.choice(services)
        volumes = svc.setdefault("volumes", []) if isinstance(svc.get("volumes"), list) else None
        source = rng.choice([*(tree.get("volumes") or {}), "./src", "nas:/export", None])
        if volumes is not None:
            volumes.append(f"{source}:{path}" if source else path)
    elif kind == "compare":
        choices = ["image_layer", "writable_layer", "volume", "local_bind", "tmpfs"]
        tree["compare"] = {"path": path, "choices": rng.sample(choices, rng.randint(1, 3))}
        if rng.random() < 0.5:
            tree["compare"]["content"] = {"files": {"/a": 1, rng.choice(["/a/b", "/c"]): 2}}
    elif kind == "source":
        keys = [*(tree.get("sources") or {}), *(tree.get("volumes") or {})]
        if keys:
            tree.setdefault("sources", {})[rng.choice(keys)] = rng.choice(
                [{"files": {"/a": 1, "/a/b": 2}}, {"symlinks": {"/a": "b"}, "dirs": ["/a/c"]},
                 {"files": {path: 3}},
                 {"generate": [{"dir": "/", "count": 5}], "files": {"/f000001/x": 1}}]
            )  # fmt: skip
    elif services:
        svc = rng.choice(services)
        workloads = svc.get("workload")
        if isinstance(workloads, list) and workloads and isinstance(workloads[0], dict):
            workload = rng.choice(workloads)
            workload["path"] = rng.choice([path, path + "/*", path + "/{i}", "/"])
    return f"conflict {kind} {path!r}"


_TREE: list[tuple[Callable[[Any, random.Random], str], int]] = [
    (_conflict, 4),
    (_drop_key, 3),
    (_set_value, 3),
    (_set_known, 5),
    (_huge, 3),
    (_scale, 3),
    (_wrong_type, 2),
    (_unknown_key, 1),
    (_lifecycle, 1),
    (_template, 2),
]


# --- text mutations --------------------------------------------------------------------


def _dump(tree: Any) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.width = 4096
    out = io.StringIO()
    yaml.dump(tree, out)
    return out.getvalue()


def _text_mutations(text: str, rng: random.Random) -> tuple[str | bytes, str]:
    kind = rng.choice(
        ["nest", "nest", "bomb", "tag", "dup", "char", "char", "garbage", "utf8", "truncate",
         "swap", "indent", "anchor", "big"]
    )  # fmt: skip
    lines = text.splitlines(keepends=True)
    if kind == "big":  # near and past the file's budgets: long lines, many lines, many values
        shape = rng.choice(["comment", "lines", "flow", "files"])
        n = rng.choice([1_000, 60_000, 70_000, 120_000])
        if shape == "comment":
            extra = "# " + "x" * n + "\n"
        elif shape == "lines":
            extra = "\n" * n
        elif shape == "flow":
            extra = "x-flow: [" + "1, " * (n // 3) + "1]\n"
        else:
            extra = "x-files:\n" + "".join(f"  /f/{i}: 1\n" for i in range(n // 12))
        return text + extra, f"big {shape} {n}"
    if kind == "nest":
        depth = rng.choice([70, 200, 1000, 5000])
        if rng.random() < 0.5:
            nested = "[" * depth + "]" * depth
        else:
            nested = "{a: " * depth + "1" + "}" * depth
        return text + f"x-deep: {nested}\n", f"nest {depth}"
    if kind == "bomb":
        levels = rng.choice([4, 9, 12])
        bomb = "x-a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for i in range(1, levels):
            bomb += f"x-a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n"
        where = rng.choice(["x-bomb", "description", "name"])
        return bomb + text.replace(f"{where}:", f"x-old-{where}:", 1) + (
            f"{where}: *a{levels - 1}\n"
        ), f"bomb {levels}"
    if kind == "tag":
        tag = rng.choice(
            [f'!!python/object/apply:os.system ["touch {CANARY}"]',
             f'!!python/object/new:subprocess.Popen [["touch", "{CANARY}"]]',
             "!!python/name:os.system", '!!binary "aGk="', "!!timestamp 2024-01-01",
             "!!set {a, b}", "!custom 5", "!!str 5", "!!int '7'", "! 5"]
        )  # fmt: skip
        index = rng.randrange(len(lines))
        key, sep, _ = lines[index].partition(": ")
        if sep:
            lines[index] = f"{key}: {tag}\n"
        return "".join(lines), f"tag {tag[:30]}"
    if kind == "dup":
        index = rng.randrange(len(lines))
        lines.insert(index, lines[index])
        return "".join(lines), f"dup line {index}"
    if kind == "char":
        pos = rng.randrange(len(text) + 1)
        char = rng.choice(_CHARS)
        return text[:pos] + char + text[pos:], f"char {char!r} at {pos}"
    if kind == "garbage":
        pos = rng.randrange(len(text) + 1)
        junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        data = text.encode("utf-8", "surrogatepass")
        return data[:pos] + junk + data[pos:], f"garbage at {pos}"
    if kind == "utf8":
        data = text.encode("utf-8", "surrogatepass")
        pos = rng.randrange(len(data) + 1)
        return data[:pos] + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xfe\xff"]) + data[
            pos:
        ], f"bad utf-8 at {pos}"
    if kind == "truncate":
        pos = rng.randrange(len(text) + 1)
        return text[:pos], f"truncate at {pos}"
    if kind == "swap":
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        return "".join(lines), f"swap {i} {j}"
    if kind == "indent":
        index = rng.randrange(len(lines))
        lines[index] = rng.choice(["  ", "\t", " "]) + lines[index]
        return "".join(lines), f"indent {index}"
    # anchor: a value replaced by an alias of another part of the file
    index = rng.randrange(len(lines))
    key, sep, value = lines[index].partition(": ")
    if sep and value.strip():
        lines[index] = f"{key}: &anc {value}"
        other = rng.randrange(len(lines))
        k2, sep2, _ = lines[other].partition(": ")
        if sep2 and other > index:
            lines[other] = f"{k2}: *anc\n"
    return "".join(lines), "anchor"


_SPECIALS = ["fifo", "devzero", "dir", "devlink", "huge"]


def make_case(seed: int, index: int) -> Case:
    """Case ``index`` of the campaign ``seed``: a function of the two numbers only."""
    rng = random.Random(f"storsim-fuzz:{seed}:{index}")
    base = rng.choice(SHIPPED)
    if rng.random() < 0.02:
        return Case(index, base.name, ("special",), None, rng.choice(_SPECIALS))
    tree = _base(base)
    if rng.random() < 0.95:
        tree = shrink(tree)
    mutations: list[str] = []
    if rng.random() < 0.1:
        mutations.append("none")  # the shipped (shrunk) scenario itself: it must run
    else:
        funcs, weights = zip(*_TREE, strict=True)
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            try:
                mutations.append(rng.choices(funcs, weights)[0](tree, rng))
            except (IndexError, KeyError, TypeError, AttributeError):
                mutations.append("skipped")  # the tree no longer has such a place
    try:
        text = _dump(tree)
    except Exception:  # a value the dumper refuses (a lone surrogate): text instead
        text = _dump(shrink(_base(base)))
        mutations.append("undumpable")
    data: str | bytes = text
    if rng.random() < 0.3:
        data, what = _text_mutations(text, rng)
        mutations.append(what)
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    return Case(index, base.name, tuple(mutations), raw)
