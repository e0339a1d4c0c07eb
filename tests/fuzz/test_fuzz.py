"""The fuzz campaigns in the suite: generated hostile scenarios keep the contract.

A few hundred cases through the API and a few dozen through the real command line, in
watched worker processes (tests/fuzz/campaign.py says what each outcome means). A
longer campaign, with the counts printed::

    STORSIM_FUZZ_CASES=10000 STORSIM_FUZZ_CLI_CASES=1000 pytest tests/fuzz -s

(or ``python -m tests.fuzz.campaign --api 10000 --cli 1000``); ``STORSIM_FUZZ_SEED``
picks another campaign, and ``python -m tests.fuzz.campaign --replay N`` reruns case N.
"""

from __future__ import annotations

import os

import pytest

from tests.fuzz.campaign import run_api_campaign, run_cli_campaign
from tests.fuzz.mutate import make_case

SEED = int(os.environ.get("STORSIM_FUZZ_SEED", "11"))
API_CASES = int(os.environ.get("STORSIM_FUZZ_CASES", "200"))
CLI_CASES = int(os.environ.get("STORSIM_FUZZ_CLI_CASES", "10"))


def test_cases_are_a_function_of_seed_and_index() -> None:
    """The same (seed, index) is the same case, byte for byte: a failure replays."""
    for index in range(20):
        first, again = make_case(SEED, index), make_case(SEED, index)
        assert (first.data, first.special, first.mutations) == (
            again.data,
            again.special,
            again.mutations,
        )
    assert len({make_case(SEED, i).data for i in range(20)}) > 15


def test_api_campaign(capsys: pytest.CaptureFixture[str]) -> None:
    """Every generated case is refused with one line naming its file (and line), or runs
    to completion within its budget, or is refused as a runaway: no crash, hang, memory
    blow-up or contract violation (no file opened outside the case, no tag run)."""
    report = run_api_campaign(SEED, range(API_CASES), jobs=2)
    with capsys.disabled():
        print("\n" + report.line())
    assert report.bad == 0, report.failures[:5]
    assert report.counts["ran"] > API_CASES // 20  # the cases reach the run, too
    assert report.counts["refused"] > API_CASES // 4


def test_cli_campaign(capsys: pytest.CaptureFixture[str]) -> None:
    """Through ``python -m storsim run``, every case exits 0 with valid outputs or 2 with
    exactly one line and nothing written; never a traceback."""
    report = run_cli_campaign(SEED, range(CLI_CASES), jobs=2)
    with capsys.disabled():
        print("\n" + report.line())
    assert report.bad == 0, report.failures[:5]
