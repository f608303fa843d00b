"""CSV import of ported numbers and ranges: format, validation, all-or-nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from numlookup.errors import DataImportError
from numlookup.numbers import msisdn
from numlookup.store import csvimport, sqlite
from numlookup.store.csvimport import (
    apply_delta,
    check_file,
    import_ported,
    import_ranges,
    read_delta,
)
from numlookup.store.sqlite import SqliteStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(tmp_path / "db.sqlite3")
    yield opened
    opened.close()


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_ported_with_header_and_plus(store: SqliteStore, tmp_path: Path) -> None:
    path = write(tmp_path, "msisdn,mccmnc\n+46708100200,24004\n4915112345678,26202\n")
    result = import_ported(store, path)
    assert (result.imported, result.bad) == (2, ())
    assert store.ported_lookup("46708100200") == "24004"
    assert store.ported_lookup("4915112345678") == "26202"


def test_no_header_blank_lines_crlf_bom_and_spaces(store: SqliteStore, tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(
        b"\xef\xbb\xbf46708100200,24004\r\n\r\n 46708100300 , 24001\r\n14252601234,311480\r\n"
    )
    assert import_ported(store, path).imported == 3
    assert store.ported_lookup("46708100300") == "24001"
    assert store.ported_lookup("14252601234") == "311480"


def test_only_the_first_row_can_be_a_header(store: SqliteStore, tmp_path: Path) -> None:
    path = write(tmp_path, "\n46708100200,24004\nmsisdn,mccmnc\n")
    with pytest.raises(DataImportError) as caught:
        import_ported(store, path)
    assert caught.value.rows == [(3, "msisdn 'msisdn' is not digits")]


def test_bad_rows_are_listed_with_line_numbers_and_nothing_is_imported(
    store: SqliteStore, tmp_path: Path
) -> None:
    store.replace_ported([("46708100999", "24001")])
    version = store.versions()
    path = write(
        tmp_path,
        "msisdn,mccmnc\n"
        "46708100200,24004\n"  # 2 good
        "46708100300\n"  # 3
        "4670810030x,24001\n"  # 4
        "46708100400,24099\n"  # 5 unknown network
        "46708100500,2400\n"  # 6 too short
        "99912345678,24001\n"  # 7 no such country code
        "467081,24001\n"  # 8 too short for Sweden
        "46708100600,24001,extra\n"  # 9
        "46708100700,24001\n",  # 10 good
    )
    with pytest.raises(DataImportError) as caught:
        import_ported(store, path)
    assert caught.value.rows == [
        (3, "expected 2 columns (msisdn,mccmnc), got 1"),
        (4, "msisdn '4670810030x' is not digits"),
        (5, "mccmnc '24099' is not a known E.212 MCC+MNC"),
        (6, "mccmnc '2400' is not 5 or 6 digits (MCC and 2- or 3-digit MNC)"),
        (7, "msisdn '99912345678' does not start with an assigned country code"),
        (8, "msisdn '467081' is not a possible E.164 number (length)"),
        (9, "expected 2 columns (msisdn,mccmnc), got 3"),
    ]
    assert "line 3" in str(caught.value)
    assert store.ported_lookup("46708100999") == "24001"
    assert store.ported_lookup("46708100200") is None
    assert store.versions() == version


def test_skip_bad_imports_the_good_rows(store: SqliteStore, tmp_path: Path) -> None:
    path = write(tmp_path, "46708100200,24004\nbad,24001\n46708100300,24099\n46708100700,24001\n")
    result = import_ported(store, path, skip_bad=True)
    assert result.imported == 2
    assert [line for line, _ in result.bad] == [2, 3]
    assert store.portability_counts() == (2, 0)
    assert store.ported_lookup("46708100700") == "24001"


@pytest.mark.parametrize("chunk", [2, 500_000])
def test_a_repeated_msisdn_is_a_bad_row(
    store: SqliteStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    # chunk 2: the repeat reaches the store in a later transaction than the first.
    monkeypatch.setattr(sqlite, "LOAD_CHUNK", chunk)
    store.replace_ported([("46708100999", "24001")])
    path = write(
        tmp_path,
        "msisdn,mccmnc\n46708100200,24004\n46708100300,24001\n46708100400,24001\n"
        "+46708100200,24008\nbad,24001\n",
    )
    with pytest.raises(DataImportError) as caught:
        import_ported(store, path)
    assert caught.value.rows == [
        (5, "msisdn 46708100200 repeats line 2"),
        (6, "msisdn 'bad' is not digits"),
    ]
    assert store.portability_counts() == (1, 0)

    result = import_ported(store, path, skip_bad=True)
    assert result.imported == 3
    assert [line for line, _ in result.bad] == [5, 6]
    assert store.ported_lookup("46708100200") == "24004"  # the first one counts


def test_ranges(store: SqliteStore, tmp_path: Path) -> None:
    path = write(tmp_path, "prefix,mccmnc\n46708,24008\n+358,24491\n1206295,310260\n")
    assert import_ranges(store, path).imported == 3
    assert store.list_ranges() == [("1206295", "310260"), ("358", "24491"), ("46708", "24008")]


def test_bad_ranges(store: SqliteStore, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "prefix,mccmnc\n"
        "46708,24008\n"  # 2 good
        "4,24008\n"  # 3 not a whole country code
        "4670812345678901,24008\n"  # 4 sixteen digits
        "46708,24001\n"  # 5 repeat
        "46709,24099\n"  # 6 unknown network
        ",24008\n",  # 7 empty
    )
    with pytest.raises(DataImportError) as caught:
        import_ranges(store, path)
    assert caught.value.rows == [
        (3, "prefix '4' does not start with an assigned country code"),
        (4, "prefix '4670812345678901' has more than 15 digits"),
        (5, "prefix 46708 repeats line 2"),
        (6, "mccmnc '24099' is not a known E.212 MCC+MNC"),
        (7, "prefix is empty"),
    ]
    assert store.list_ranges() == []
    result = import_ranges(store, path, skip_bad=True)
    assert result.imported == 1
    assert store.list_ranges() == [("46708", "24008")]


@pytest.mark.parametrize("text", ["", "msisdn,mccmnc\n", "\n\n"])
def test_an_empty_file_empties_the_set(store: SqliteStore, tmp_path: Path, text: str) -> None:
    store.replace_ported([("46708100200", "24004")])
    result = import_ported(store, write(tmp_path, text))
    assert (result.imported, result.bad) == (0, ())
    assert store.portability_counts() == (0, 0)


def test_a_missing_file_changes_nothing(store: SqliteStore, tmp_path: Path) -> None:
    store.replace_ported([("46708100200", "24004")])
    with pytest.raises(FileNotFoundError):
        import_ported(store, tmp_path / "absent.csv")
    assert store.ported_lookup("46708100200") == "24004"


def test_undecodable_bytes_make_a_bad_row(store: SqliteStore, tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"46708100200,24004\n4670810\xff300,24001\n")
    with pytest.raises(DataImportError) as caught:
        import_ported(store, path)
    assert [line for line, _ in caught.value.rows] == [2]


@pytest.mark.parametrize("quoted", [False, True])
def test_progress_is_reported_in_bytes(
    store: SqliteStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quoted: bool
) -> None:
    # A block at a time on the fast path; PROGRESS_EVERY rows where the csv module reads.
    monkeypatch.setattr(csvimport, "BLOCK_BYTES", 100)
    monkeypatch.setattr(csvimport, "PROGRESS_EVERY", 10)
    row = '"4670810{:04d}",24008\n' if quoted else "4670810{:04d},24008\n"
    path = write(tmp_path, "".join(row.format(n) for n in range(35)))
    calls: list[tuple[int, int]] = []
    import_ported(store, path, progress=lambda done, total: calls.append((done, total)))
    size = path.stat().st_size
    assert len(calls) >= 4
    assert all(total == size for _, total in calls)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert calls[-1] == (size, size)


def test_check_file_imports_nothing(store: SqliteStore, tmp_path: Path) -> None:
    path = write(tmp_path, "46708100200,24004\n46708100200,24004\n")
    assert check_file(path, "ported") == [(2, "msisdn 46708100200 repeats line 1")]
    assert store.portability_counts() == (0, 0)


# ------------------------------------------------------------------- delta


def test_delta_rows_and_header(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "action,msisdn,mccmnc\nport-in,+46708100200,24004\n\n"
        " PORT-OUT , 46708100300 , 24001 \nreturn,46708100400,\nreturn,46708100500\n",
    )
    assert read_delta(path) == (
        [
            ("46708100200", "24004"),
            ("46708100300", "24001"),
            ("46708100400", None),
            ("46708100500", None),
        ],
        [],
    )


def test_delta_bad_rows_with_line_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "action,msisdn,mccmnc\n"
        "port-in,46708100200,24004\n"
        "move,46708100300,24001\n"
        "port-in,46708100400,24099\n"
        "port-out,12,24001\n"
        "port-in,46708100500\n"
        "return,46708100200,\n"
        "action,msisdn,mccmnc\n",
    )
    changes, bad = read_delta(path)
    assert changes == [("46708100200", "24004")]
    assert bad == [
        (3, "unknown action 'move' (port-in, port-out or return)"),
        (4, "mccmnc '24099' is not a known E.212 MCC+MNC"),
        (5, "msisdn '12' is not a possible E.164 number (length)"),
        (6, "expected 3 columns (action,msisdn,mccmnc), got 2"),
        (7, "msisdn 46708100200 repeats line 2"),
        (8, "unknown action 'action' (port-in, port-out or return)"),
    ]


def test_delta_with_bad_rows_applies_nothing_unless_skip_bad(
    store: SqliteStore, tmp_path: Path
) -> None:
    store.replace_ported([("46708100200", "24004")])
    path = write(tmp_path, "return,46708100200,\nport-in,46708100300,24001\nport-in,x,24001\n")
    with pytest.raises(DataImportError) as caught:
        apply_delta(store, path)
    assert caught.value.rows == [(3, "msisdn 'x' is not digits")]
    assert store.ported_lookup("46708100200") == "24004"
    assert store.ported_lookup("46708100300") is None
    result = apply_delta(store, path, skip_bad=True)
    assert (result.upserted, result.removed) == (1, 1)
    assert result.bad == ((3, "msisdn 'x' is not digits"),)
    assert store.ported_lookup("46708100200") is None
    assert store.ported_lookup("46708100300") == "24001"


# ------------------------------------------------------------- fast path
#
# A clean block is taken whole by one regular expression; every other block
# goes through the csv module row by row. The csv path is the oracle: both
# must find the same rows, the same bad lines, the same line numbers.


def _digit_strings(length: int) -> list[str]:
    """A few digit strings of a length: all 0s, all 9s, and a mix."""
    if length == 0:
        return [""]
    mixed = ("1234567890" * 2)[:length]
    return sorted({"0" * length, "9" * length, mixed})


@pytest.mark.parametrize("kind", ["ported", "ranges"])
def test_the_clean_row_pattern_is_the_key_check(kind: str) -> None:
    scan_kind = csvimport._KINDS[kind]
    codes = sorted(set(msisdn.NSN_LENGTHS) | {"0", "3", "4", "80", "999", "2999"})
    for code in codes:
        for rest in range(msisdn.MAX_DIGITS + 3 - len(code)):
            for digits in _digit_strings(rest):
                key = code + digits
                line = f"{key},24008\n"
                matched = scan_kind.clean_row.findall(line) == [(key, "24008")]
                assert matched == scan_kind.is_valid(key), key
                plus = scan_kind.clean_row.findall(f"+{key},24008\r\n")
                assert (plus == [(key, "24008")]) == scan_kind.is_valid(key), key


@pytest.mark.parametrize(
    ("text", "whole"),
    [
        ("46708100200,24008\n+46708100300,24001\r\n", True),
        ("46708100200,24008", True),  # no line end at the end of the file
        ("46708100200,24008\r", True),
        ("46708100200,2400\n", False),
        ("46708100200,2400800\n", False),
        ("46708100200,24008,\n", False),
        ("46708100200 ,24008\n", False),
        ("46708100200;24008\n", False),
        ("++46708100200,24008\n", False),
        ('"46708100200",24008\n', False),
        ("\uff14\uff16708100200,24008\n", False),  # full-width digits
        ("46708100200,24008\r\r\n", False),
        ("46708100200,24008\r46708100300,24008\n", False),  # a CR line end: two lines
        ("46708100200,24008\n\n", False),
    ],
)
def test_which_blocks_are_taken_whole(text: str, whole: bool) -> None:
    rows = csvimport._PORTED.clean_row.findall(text)
    lines = text.count("\n") + (text[-1:] != "\n")
    assert (len(rows) == lines) == whole


_ROWS = st.one_of(
    st.sampled_from(
        [
            "46708100200,24004",
            "46708100300,24001",
            "+46708100400,24008",
            "4915112345678,26202",
            "14252601234,311480",
            " 46708100500 , 24001",
            "46708100600,24099",
            "46708100700,2400",
            "467081,24001",
            "99912345678,24001",
            "46708100800,24001,x",
            "46708100900",
            "",
            " ",
            "msisdn,mccmnc",
            '"46708101000",24008',
            '"4670810\n1100",24008',
            "46708100200,24008",  # a repeat of the first row
            "4670810\udcff1200,24001",  # stands for an undecodable byte
        ]
    ),
    st.integers(46708200000, 46708200099).map(lambda n: f"{n},24008"),
)


def _write_rows(path: Path, rows: list[str], newline: str) -> None:
    text = newline.join(rows) + newline
    path.write_bytes(text.encode("utf-8", "surrogateescape"))


def _scan(path: Path, *, dedupe: bool, strict: bool) -> tuple[list[tuple[str, str]], object]:
    scan = csvimport._Scan(path, csvimport._PORTED, dedupe=dedupe, strict=strict, progress=None)
    try:
        return list(scan.rows()), scan.bad
    except DataImportError as exc:
        return [], ("error", exc.rows)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(_ROWS, max_size=40),
    newline=st.sampled_from(["\n", "\r\n"]),
    block=st.sampled_from([16, 64, 300, 1 << 20]),
    dedupe=st.booleans(),
    strict=st.booleans(),
)
def test_the_fast_path_agrees_with_the_csv_module(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[str],
    newline: str,
    block: int,
    dedupe: bool,
    strict: bool,
) -> None:
    path = tmp_path_factory.mktemp("fast") / "data.csv"
    _write_rows(path, rows, newline)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(csvimport, "BLOCK_BYTES", block)
        patch.setattr(csvimport, "MAX_LINE_BYTES", 4 * block)
        fast = _scan(path, dedupe=dedupe, strict=strict)
        # The oracle: the whole file through the csv module, one row at a time.
        never = re.compile(r"(?!)")
        patch.setattr(csvimport, "_PORTED", replace(csvimport._PORTED, clean_row=never))
        patch.setattr(csvimport, "BLOCK_BYTES", 1 << 30)
        slow = _scan(path, dedupe=dedupe, strict=strict)
    assert fast == slow


def test_a_big_clean_file_is_read_in_blocks(
    store: SqliteStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csvimport, "BLOCK_BYTES", 1000)
    monkeypatch.setattr(sqlite, "LOAD_CHUNK", 700)
    path = write(
        tmp_path, "msisdn,mccmnc\n" + "".join(f"4670820{n:04d},24008\n" for n in range(5000))
    )
    assert import_ported(store, path).imported == 5000
    assert store.ported_lookup("46708200000") == "24008"
    assert store.ported_lookup("46708204999") == "24008"
    path.write_text(path.read_text() + "46708201234,24001\n")
    with pytest.raises(DataImportError) as caught:
        import_ported(store, path)
    assert caught.value.rows == [(5002, "msisdn 46708201234 repeats line 1236")]


def test_cr_line_ends_only(
    store: SqliteStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No line feed at all: after MAX_LINE_BYTES the rest is left to the csv module.
    monkeypatch.setattr(csvimport, "BLOCK_BYTES", 64)
    monkeypatch.setattr(csvimport, "MAX_LINE_BYTES", 256)
    path = tmp_path / "data.csv"
    path.write_bytes(b"msisdn,mccmnc\r" + b"".join(b"467082%05d,24008\r" % n for n in range(100)))
    assert import_ported(store, path).imported == 100
    assert store.ported_lookup("46708200099") == "24008"


def test_repeats_are_found_with_the_scratch_database(tmp_path: Path) -> None:
    assert sqlite.repeated_keys([]) == {}
    pairs = [("46708100200", 1), ("46708100300", 2), ("46708100200", 5), ("46708100200", 9)]
    assert sqlite.repeated_keys(pairs) == {5: 1, 9: 1}
