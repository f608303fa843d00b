from numlookup.service.prefixes import PrefixMap, PrefixSet


def test_longest_prefix_wins() -> None:
    ranges = PrefixMap({"46": "a", "4670": "b", "467081": "c"})
    assert ranges.longest("46708100100") == "c"
    assert ranges.longest("46709000000") == "b"
    assert ranges.longest("46123") == "a"
    assert ranges.longest("47123") is None
    assert "46" in ranges
    assert len(ranges) == 3


def test_empty_map_and_set() -> None:
    assert PrefixMap[str]().longest("46") is None
    assert not PrefixSet()
    assert not PrefixSet().matches("46")


def test_prefix_set() -> None:
    blocked = PrefixSet(["4670", "358"])
    assert blocked.matches("46701234567")
    assert blocked.matches("358401234567")
    assert not blocked.matches("4671")
    assert not blocked.matches("35")
