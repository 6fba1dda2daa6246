"""Tile paths as c2sp.org/tlog-tiles spells them, and nothing else: each tile has one address."""

from __future__ import annotations

import pytest

from projections.merkle_log.tiles import MAX_LEVEL, Tile, encode_index, parse_tile_path


@pytest.mark.parametrize(
    ("index", "encoded"),
    [(0, "000"), (7, "007"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067"),
     (10**9, "x001/x000/x000/000")],
)
def test_an_index_is_written_in_groups_of_three_digits_with_x_before_all_but_the_last(
    index: int, encoded: str
) -> None:
    assert encode_index(index) == encoded
    assert parse_tile_path(f"0/{encoded}") == Tile(0, index)


def test_the_specs_example_names_a_full_tile_a_partial_one_and_an_entry_bundle() -> None:
    assert parse_tile_path("0/x001/x234/067") == Tile(0, 1234067, 256)
    assert parse_tile_path("2/x001/x234/067.p/8") == Tile(2, 1234067, 8)
    assert parse_tile_path("entries/x001/x234/067") == Tile(None, 1234067, 256)
    assert parse_tile_path("entries/000.p/255") == Tile(None, 0, 255)
    assert parse_tile_path("entries/000.p/255").is_entries  # type: ignore[union-attr]


@pytest.mark.parametrize("path", ["0/000.p/1", "0/000.p/255", "63/000", "entries/001.p/17"])
def test_every_accepted_path_is_the_one_the_tile_writes(path: str) -> None:
    tile = parse_tile_path(path)
    assert tile is not None and tile.path == path


@pytest.mark.parametrize(
    "path",
    [
        "00/000",  # a leading zero in the level
        "01/000",
        "64/000",  # levels stop at 63
        "100/000",
        "-1/000",
        "0/x000/001",  # a leading zero group: 1 is 001
        "0/x001",  # the last group has no x
        "0/001/002",  # every group but the last has one
        "0/1",  # groups are three digits
        "0/0001",
        "0/000.p/0",  # a partial tile holds 1 to 255 hashes
        "0/000.p/256",  # a full tile is never written as partial
        "0/000.p/01",  # a leading zero in the width
        "0/000.p/",
        "0/000.p",
        "0/000/",
        "/0/000",
        "0/000.p/5/",
        "entries/000.p/256",
        "entries",
        "data/000",
        "8/0/000",  # Go's sumdb paths name the height; C2SP's do not
        "0/００0",  # digits of another script
        "",
    ],
)
def test_a_malformed_path_is_simply_not_a_tile(path: str) -> None:
    assert parse_tile_path(path) is None


def test_an_index_longer_than_any_tree_needs_is_not_a_tile() -> None:
    assert parse_tile_path("0/" + "x999/" * 6 + "999") == Tile(0, 10**21 - 1)
    assert parse_tile_path("0/" + "x123/" * 7 + "999") is None
    assert parse_tile_path("0/" + "x123/" * 2000 + "999") is None  # never a 4,000-digit int


def test_the_highest_level_is_63() -> None:
    assert MAX_LEVEL == 63 and parse_tile_path("63/000") == Tile(63, 0)


def test_a_tile_covers_leaves_up_to_its_end() -> None:
    assert Tile(0, 0, 1).end == 1
    assert Tile(0, 2).end == 768
    assert Tile(1, 0, 2).end == 512  # two hashes of 256 leaves each
    assert Tile(2, 1, 3).end == (256 + 3) * 65536
    assert Tile(None, 1, 5).end == 261


def test_a_negative_index_has_no_path() -> None:
    with pytest.raises(ValueError):
        encode_index(-1)
