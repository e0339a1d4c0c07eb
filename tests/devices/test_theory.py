"""The disk model against queueing theory: M/M/1, M/M/c (Erlang C), M/D/1 and M/G/1.

Poisson arrivals of latency-only requests (``Disk.meta``) at a disk with ``queue_depth``
c and mean service 1/mu. Each case runs independent replications (one seed each), drops
the first customers of each replication as warm-up (the queue starts empty), and checks
that the grand mean response time is within 2 % of the closed form and that the
confidence interval over replications covers it. The six cases share one 95 % family:
each interval is at level 1 - 0.05/6 (Bonferroni), so a correct model fails the file
with probability below 5 %, not 26 %.

Replication lengths come from the asymptotic variance of each queue's mean response
time, so that the standard error is about 0.75 % (2 % is 2.7 standard errors).

The M/G/1 cases use the service shapes the profiles use by default
(:mod:`storsim.devices.service`): the flash ``h2`` (1 % of accesses 20 times slower: a
squared coefficient of variation of about 6, hence the low load and the long
replications) and the disk head's ``hdd`` seek + rotation, each against
Pollaczek-Khinchine with the shape's own E[S^2].
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import simpy
from scipy import stats

from storsim.devices import Disk, ProcessGen
from storsim.devices.params import DiskParams, ServiceDistribution
from storsim.devices.service import SERVICE_NAMES

pytestmark = pytest.mark.slow

MU = 1.0  # service rate, 1/s: times are in units of the mean service time
REPLICATIONS = 20
WARMUP = 2_000  # customers dropped per replication: > 20 relaxation times at rho = 0.8
FAMILY_ALPHA = 0.05
CASES = 8
TOLERANCE = 0.02
ROOT_SEED = 20_241_127


def erlang_c_response_s(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean response time of M/M/c, s (Erlang C waiting probability)."""
    a = arrival_rate / service_rate
    rho = a / servers
    head = sum(a**k / math.factorial(k) for k in range(servers))
    tail = a**servers / math.factorial(servers) / (1 - rho)
    waiting_probability = tail / (head + tail)
    return waiting_probability / (servers * service_rate - arrival_rate) + 1 / service_rate


def md1_response_s(arrival_rate: float, service_rate: float) -> float:
    """Mean response time of M/D/1, s (Pollaczek-Khinchine with E[S^2] = 1/mu^2)."""
    rho = arrival_rate / service_rate
    return 1 / service_rate + rho / (2 * service_rate * (1 - rho))


def mg1_response_s(arrival_rate: float, service_rate: float, factor_moment2: float) -> float:
    """Mean response time of M/G/1, s (Pollaczek-Khinchine): 1/mu + lambda E[S^2] /
    (2 (1 - rho)), with E[S^2] = E[factor^2] / mu^2."""
    rho = arrival_rate / service_rate
    second = factor_moment2 / service_rate**2
    return 1 / service_rate + arrival_rate * second / (2 * (1 - rho))


def _replication(
    *,
    arrival_rate: float,
    servers: int,
    service: ServiceDistribution,
    customers: int,
    seed: np.random.SeedSequence,
) -> tuple[float, float]:
    """One replication: (mean response time after warm-up, s; disk utilisation)."""
    arrivals_seed, service_seed = seed.spawn(2)
    env = simpy.Environment()
    params = DiskParams(
        read_latency_s=1 / MU,
        write_latency_s=1 / MU,
        flush_latency_s=1 / MU,
        read_bytes_per_s=1.0,
        write_bytes_per_s=1.0,
        queue_depth=servers,
        service=service,
    )
    disk = Disk(env, params, np.random.default_rng(service_seed), "theory")
    gaps = np.random.default_rng(arrivals_seed).exponential(1 / arrival_rate, customers)
    response_s = [0.0] * customers

    def customer(index: int) -> ProcessGen:
        arrived = env.now
        yield from disk.meta()
        response_s[index] = env.now - arrived

    def source() -> ProcessGen:
        for index, gap in enumerate(gaps.tolist()):
            yield env.timeout(gap)
            env.process(customer(index))

    env.process(source())
    env.run()
    return float(np.mean(response_s[WARMUP:])), disk.utilisation()


# (name, servers, rho, service, customers per replication, closed-form response time)
_CASES: list[tuple[str, int, float, ServiceDistribution, int, float]] = [
    ("M/M/1", 1, 0.5, "exponential", 20_000, 1 / (MU - 0.5 * MU)),
    ("M/M/1", 1, 0.8, "exponential", 80_000, 1 / (MU - 0.8 * MU)),
    ("M/M/4", 4, 0.5, "exponential", 12_000, erlang_c_response_s(4 * 0.5 * MU, MU, 4)),
    ("M/M/4", 4, 0.8, "exponential", 38_000, erlang_c_response_s(4 * 0.8 * MU, MU, 4)),
    ("M/D/1", 1, 0.5, "fixed", 12_000, md1_response_s(0.5 * MU, MU)),
    ("M/D/1", 1, 0.8, "fixed", 32_000, md1_response_s(0.8 * MU, MU)),
    (
        "M/H2/1",
        1,
        0.3,
        "h2",
        130_000,
        mg1_response_s(0.3 * MU, MU, SERVICE_NAMES["h2"].second_moment),
    ),
    (
        "M/G/1-hdd",
        1,
        0.8,
        "hdd",
        10_000,
        mg1_response_s(0.8 * MU, MU, SERVICE_NAMES["hdd"].second_moment),
    ),
]
assert len(_CASES) == CASES


@pytest.mark.parametrize("case", range(CASES), ids=[f"{c[0]}-rho{c[2]}" for c in _CASES])
def test_disk_matches_queueing_theory(case: int) -> None:
    """Mean response time is within 2 % of theory and inside the replications' interval."""
    _, servers, rho, service, customers, expected_s = _CASES[case]
    seeds = np.random.SeedSequence([ROOT_SEED, case]).spawn(REPLICATIONS)
    runs = [
        _replication(
            arrival_rate=rho * servers * MU,
            servers=servers,
            service=service,
            customers=customers,
            seed=seed,
        )
        for seed in seeds
    ]
    means = np.array([mean for mean, _ in runs])
    grand = float(means.mean())
    level = 1 - FAMILY_ALPHA / CASES
    half_width = float(
        stats.t.ppf(1 - (1 - level) / 2, REPLICATIONS - 1)
        * means.std(ddof=1)
        / math.sqrt(REPLICATIONS)
    )
    assert abs(grand - expected_s) <= TOLERANCE * expected_s, (grand, expected_s)
    assert abs(grand - expected_s) <= half_width, (grand, expected_s, half_width)
    utilisation = float(np.mean([u for _, u in runs]))
    assert abs(utilisation - rho) <= TOLERANCE * rho, (utilisation, rho)


def test_pollaczek_khinchine_reduces_to_md1_and_mm1() -> None:
    """With E[factor^2] = 1 (fixed) P-K is M/D/1; with 2 (exponential) it is M/M/1."""
    assert math.isclose(mg1_response_s(0.8, 1.0, 1.0), md1_response_s(0.8, 1.0))
    assert math.isclose(mg1_response_s(0.8, 1.0, 2.0), 5.0)


def test_erlang_c_reduces_to_mm1() -> None:
    """With one server the Erlang C response time is 1/(mu - lambda)."""
    assert math.isclose(erlang_c_response_s(0.8, 1.0, 1), 5.0)
