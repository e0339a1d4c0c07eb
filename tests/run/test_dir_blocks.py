"""The size of a directory on disk (ext4's on-disk entries and its hashed tree): what a
listing reads from disk the first time."""

from __future__ import annotations

from storsim.run.context import DIR_BLOCK_BYTES, dir_blocks


def test_a_directory_that_fits_in_one_block_is_one_block() -> None:
    """The dot entries (24 bytes) and 16-byte entries (8-byte header, a 5-byte name padded
    to 8): 254 of them fill 4088 of the 4096 bytes, one block; an empty listing is one
    block too (the directory's "." and "..")."""
    assert dir_blocks(254, ["abcde"]) == 1
    assert dir_blocks(0, []) == 1
    assert 24 + 254 * 16 <= DIR_BLOCK_BYTES < 24 + 255 * 16


def test_beyond_one_block_the_leaves_are_69_percent_full_plus_the_root() -> None:
    """255 such entries (4104 bytes) no longer fit: a hashed tree of ceil(4104 / (4096 x
    ln 2)) = 2 leaves and its root block; 4096 entries (65560 bytes): 24 leaves and the
    root."""
    assert dir_blocks(255, ["abcde"]) == 3
    assert dir_blocks(4096, ["abcde"]) == 24 + 1


def test_the_names_lengths_decide_the_entries_size() -> None:
    """Names of 1-4 bytes take 12 bytes an entry, of 5-8 bytes 16: the mean of the names
    given sizes every entry (a lower copy's entries by the merged listing's names)."""
    short, long = ["ab"] * 10, ["abcdefgh"] * 10
    assert dir_blocks(400, short) == 1 + 2  # 24 + 400 x 12 = 4824 bytes
    assert dir_blocks(400, long) == 1 + 3  # 24 + 400 x 16 = 6424 bytes
    assert dir_blocks(400, short + long) == 1 + 2  # 14 bytes on average: 5624 bytes
