"""Which modules of the installed storsim are compiled: a check of the compiled build.

Like the inspection sticker on a tuned engine: after ``STORSIM_COMPILE=1 pip install
.``, every module that setup.py lists in ``COMPILED`` must be imported as a C
extension, not from its Python source (a build that silently fell back to the sources
would run, give the same results, and be no faster). Run it as a script with the
install's interpreter (a script's folder, buildsys/, is first on the path, not the
tree's root, so the installed storsim is the one imported)::

    .venv/bin/python buildsys/compiled.py

It prints one line per module and exits 1 if any of them is not compiled.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

SETUP = Path(__file__).resolve().parent.parent / "setup.py"


def listed() -> list[str]:
    """The module names of setup.py's ``COMPILED`` (read, not imported: importing
    setup.py would run the build)."""
    tree = ast.parse(SETUP.read_text())
    (value,) = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "COMPILED" for t in node.targets)
    ]
    paths: list[str] = ast.literal_eval(value)
    return [p.removesuffix(".py").replace("/", ".") for p in paths]


def main() -> int:
    """Print where each listed module comes from; 1 if any is not an extension."""
    missing = 0
    for name in listed():
        where = importlib.import_module(name).__file__ or "?"
        compiled = where.endswith((".so", ".pyd"))
        missing += not compiled
        print(f"{'compiled' if compiled else 'NOT compiled'}  {name}  ({where})")
    print(f"{len(listed()) - missing} of {len(listed())} listed modules compiled")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
