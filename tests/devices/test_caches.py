"""Checks of the page cache (LRU by bytes) and the NFS-style attribute cache."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storsim.devices import AttrCache, PageCache
from storsim.devices.params import PageCacheParams
from storsim.devices.profiles import PAGE_CACHE

# --- PageCache ------------------------------------------------------------------------


def _cache(size_bytes: int = 100) -> PageCache:
    return PageCache(PageCacheParams(size_bytes=size_bytes))


def test_page_cache_evicts_least_recently_used() -> None:
    """With room for two 40-byte files, touching a then inserting c evicts b, not a."""
    cache = _cache()
    cache.insert("a", 40)
    cache.insert("b", 40)
    assert cache.lookup("a")
    cache.insert("c", 40)
    assert ("a" in cache, "b" in cache, "c" in cache) == (True, False, True)
    assert (cache.used_bytes, cache.evictions, cache.hits, cache.misses) == (80, 1, 1, 0)


def test_page_cache_counts_hits_and_misses() -> None:
    """A lookup of a cached key is a hit, of any other key a miss."""
    cache = _cache()
    cache.insert("a", 10)
    assert [cache.lookup("a"), cache.lookup("b"), cache.lookup("a")] == [True, False, True]
    assert (cache.hits, cache.misses) == (2, 1)


def test_page_cache_reinsert_replaces_size() -> None:
    """Inserting a cached key again replaces its size instead of adding to it."""
    cache = _cache()
    cache.insert("a", 30)
    cache.insert("a", 70)
    assert (cache.used_bytes, len(cache)) == (70, 1)


def test_page_cache_refuses_objects_larger_than_itself() -> None:
    """A file bigger than the cache is not cached and does not flush what is cached."""
    cache = _cache()
    cache.insert("small", 10)
    cache.insert("huge", 101)
    assert ("small" in cache, "huge" in cache, cache.used_bytes) == (True, False, 10)


def test_page_cache_invalidate_frees_bytes() -> None:
    """Invalidating a key drops it and its bytes; invalidating an absent key is a no-op."""
    cache = _cache()
    cache.insert("a", 60)
    cache.invalidate("a")
    cache.invalidate("missing")
    assert ("a" in cache, cache.used_bytes) == (False, 0)


def test_page_cache_rejects_negative_sizes() -> None:
    """A negative size is a programming error."""
    with pytest.raises(ValueError, match=r"nbytes must be >= 0 \(got -1\)"):
        _cache().insert("a", -1)


def test_page_cache_defaults_to_the_default_profile() -> None:
    """Without parameters the cache uses PAGE_CACHE."""
    assert PageCache().params == PAGE_CACHE


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["insert", "lookup", "invalidate"]),
            st.integers(0, 9),
            st.integers(0, 60),
        ),
        max_size=200,
    )
)
def test_page_cache_never_exceeds_capacity(ops: list[tuple[str, int, int]]) -> None:
    """Under any sequence of operations, used bytes equal the cached sizes and fit the cache."""
    cache = _cache()
    sizes: dict[int, int] = {}
    for op, key, nbytes in ops:
        if op == "insert":
            cache.insert(key, nbytes)
        elif op == "lookup":
            cache.lookup(key)
        else:
            cache.invalidate(key)
        sizes = {k: v for k, v in sizes.items() if k in cache}
        if op == "insert" and key in cache:
            sizes[key] = nbytes
        assert cache.used_bytes == sum(sizes.values()) <= cache.capacity_bytes


# --- AttrCache ------------------------------------------------------------------------


def test_attr_cache_expires_after_minimum_timeout() -> None:
    """Attributes filled at t=0 are fresh until just before acregmin (3 s), stale at 3 s."""
    cache = AttrCache(3.0, 60.0)
    assert not cache.fresh("f", 0.0)
    assert cache.fill("f", 0.0) == 3.0
    assert (cache.fresh("f", 2.999), cache.fresh("f", 3.0)) == (True, False)
    assert (cache.hits, cache.misses) == (1, 2)


def test_attr_cache_timeout_doubles_while_unchanged_up_to_maximum() -> None:
    """Each expired refill of an unchanged file doubles the timeout: 3, 6, ..., 48, 60, 60."""
    cache = AttrCache(3.0, 60.0)
    now, timeouts = 0.0, []
    for _ in range(7):
        timeouts.append(cache.fill("f", now, version=1))
        now += timeouts[-1]
    assert timeouts == [3.0, 6.0, 12.0, 24.0, 48.0, 60.0, 60.0]


def test_attr_cache_change_resets_to_minimum() -> None:
    """A refill that sees a new version (the file changed) goes back to acregmin."""
    cache = AttrCache(3.0, 60.0)
    cache.fill("f", 0.0, version=1)
    cache.fill("f", 3.0, version=1)
    assert cache.fill("f", 9.0, version=2) == 3.0


def test_attr_cache_early_refill_keeps_timeout() -> None:
    """A refill before expiry restarts the same timeout instead of doubling it."""
    cache = AttrCache(3.0, 60.0)
    cache.fill("f", 0.0)
    assert cache.fill("f", 1.0) == 3.0
    assert (cache.fresh("f", 3.5), cache.fresh("f", 4.0)) == (True, False)


def test_attr_cache_invalidate_forgets() -> None:
    """An invalidated file is stale at once and starts again from the minimum."""
    cache = AttrCache(3.0, 60.0)
    cache.fill("f", 0.0)
    cache.fill("f", 3.0)
    cache.invalidate("f")
    assert (cache.fresh("f", 3.1), cache.timeout_s("f")) == (False, None)
    assert cache.fill("f", 4.0) == 3.0


def test_attr_cache_fixed_and_disabled() -> None:
    """Equal bounds give a fixed timeout (CIFS actimeo); zero bounds never cache (noac)."""
    fixed = AttrCache(1.0, 1.0)
    assert [fixed.fill("f", t) for t in (0.0, 1.0, 2.0)] == [1.0, 1.0, 1.0]
    noac = AttrCache(0.0, 0.0)
    noac.fill("f", 0.0)
    assert not noac.fresh("f", 0.0)


def test_attr_cache_rejects_inverted_bounds() -> None:
    """The minimum may not exceed the maximum."""
    with pytest.raises(ValueError, match=r"0 <= min_s <= max_s \(got 60.0, 3.0\)"):
        AttrCache(60.0, 3.0)
