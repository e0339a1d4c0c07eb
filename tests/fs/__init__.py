"""Tests of ``storsim.fs``, one module per module of the package.

Each module tests one rule per test with exact results, then hypothesis properties
against two independent references kept in ``support.py``: Docker's layer extraction (for
the merge of the lowers) and a flat POSIX tree (for operation outcomes and the visible
tree). The real kernel is the judge in ``test_kernel.py``.
"""
