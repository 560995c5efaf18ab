"""Instrument codes by their form (stock, index, night; reference 5.1-5.3), the check of a code
against a TR, the KIS masters (stock and index) downloaded, cached and read, and underlyings by
name with their aliases."""

from __future__ import annotations

import io
import zipfile

import httpx
import pytest

from kisfeed.exceptions import ConfigError, KisfeedError, UsageError
from kisfeed.instruments import (
    MASTER_NAMES,
    CodeForm,
    check_code,
    code_form,
    download_masters,
    read_master,
    search,
    tr_of,
    trs_for_code,
    underlying_of,
)
from kisfeed.schema.master import INDEX_MASTER_NAME, MASTER_NAME, parse_master
from kisfeed.schema.night_master import NIGHT_FUTURES_MASTER, NIGHT_OPTIONS_MASTER, write_night_master

#: fo_idx_code_mts.mst lines in the form third-party parsers measured (2026-08-03, 2026-09-28):
#: the name column without the underlying's name, underlying code 2001 / name KOSPI200.
INDEX_MASTER = "\n".join(
    [
        "1|A01612|KR4A016C0004|F 202612| |00000.00|1|2001|KOSPI200",
        "1|A01703|KR4A01730004|F 202703| |00000.00|2|2001|KOSPI200",
        "B|A05612|KR4A056C0005|미니F 202612| |00000.00|1|2001|KOSPI200",
        "5|B01612350|KR4B016C3509|C 202612   350.0|1|00350.00| |2001|KOSPI200",
        "6|C01612350|KR4C016C3507|P 202612   350.0|1|00350.00| |2001|KOSPI200",
        "5|B01612352|KR4B016C3525|C 202612   352.5|3|00352.50| |2001|KOSPI200",
        "1|A06612|KR4A066C0001|코스닥150F 202612| |00000.00|1|3003|KSQ150",
        "O|CAFBZW970|KR4CAFBZ9703|위클리M P 2609W4   970.0|2|00970.00| |2001|KOSPI200",  # Monday weekly
        "garbage that is not a master line",
        "1|A01612|too few columns",
        "\x00\x01\x02|||",
    ]
)


@pytest.mark.parametrize(
    ("code", "form"),
    [
        ("A11612", CodeForm("futures", "future", "stock")),  # reference 5.3
        ("111W08", CodeForm("futures", "future", "stock")),
        ("B11612065", CodeForm("option", "call", "stock")),
        ("339W08088", CodeForm("option", "put", "stock")),
        ("A01612", CodeForm("futures", "future", "index")),  # KOSPI200, 2026 form
        ("101S12", CodeForm("futures", "future", "index")),  # portal H0IFCNT0 example
        ("201S11305", CodeForm("option", "call", "index")),
        ("301V06362", CodeForm("option", "put", "index")),
        ("A05610", CodeForm("futures", "future", "index")),  # mini KOSPI200
        ("A06609", CodeForm("futures", "future", "index")),  # KOSDAQ150
        ("BAFBRW962", CodeForm("option", "call", "index")),  # Monday weekly
        ("C09612350", CodeForm("option", "put", "index")),  # Thursday weekly
        ("101W9000", CodeForm("futures", "future", "night")),  # official H0MFCNT0 example
        ("A0169000", CodeForm("futures", "future", "night")),  # 2026 KRX form
        ("201W8185", CodeForm("option", "call", "night")),
        ("301V6362", CodeForm("option", "put", "night")),
    ],
)
def test_a_code_s_form_says_its_product_kind_and_market(code, form):
    assert code_form(code) == form


@pytest.mark.parametrize(
    "code",
    [
        "D116C71S",  # a spread: D first and S last
        "401E1W5S",  # a KRX-form spread: 4 first
        "1010100S",  # S last: a spread whatever comes first
        "111T7000",  # the KRX form of a stock future: no real-time TR takes it
        "XYZ",
        "",
    ],
)
def test_a_form_that_does_not_tell_is_left_to_the_master(code):
    assert code_form(code) is None and trs_for_code(code) == ()


def test_each_form_is_placed_on_its_trs():
    assert trs_for_code("A11612") == ("H0ZFCNT0", "H0ZFASP0", "H0ZFANC0")
    assert trs_for_code("A01612") == ("H0IFCNT0", "H0IFASP0")  # no index expected-price TR
    assert trs_for_code("B01612350") == ("H0IOCNT0", "H0IOASP0")
    assert trs_for_code("101W9000") == ("H0MFCNT0", "H0MFASP0")
    assert trs_for_code("201W8185") == ("H0EUCNT0", "H0EUASP0", "H0EUANC0")
    assert tr_of("option", "book") == "H0ZOASP0"
    assert tr_of("futures", "trade", "index") == "H0IFCNT0"
    assert tr_of("option", "expected", "index") is None


@pytest.mark.parametrize(
    ("tr_id", "code"),
    [
        ("H0ZFCNT0", "A11612"),
        ("H0ZOASP0", "B11612065"),
        ("H0IFCNT0", "A01612"),
        ("H0IOASP0", "201S11305"),
        ("H0MFCNT0", "101W9000"),  # the KRX form (official H0MFCNT0 example)
        ("H0MFASP0", "101W09"),  # and the KIS form (official H0MFASP0 example) on a night TR
        ("H0EUANC0", "201W8185"),
        ("H0EUCNT0", "301V06362"),  # portal H0EUCNT0 example
        ("H0ZFCNT0", "D116C71S"),  # a form that does not tell: the server answers for it
    ],
)
def test_a_code_of_the_tr_s_product_and_market_passes(tr_id, code):
    check_code(tr_id, code)


@pytest.mark.parametrize(
    ("tr_id", "code", "right"),
    [
        ("H0ZFASP0", "B11612065", "H0ZOASP0"),  # an option code on a futures TR (as before)
        ("H0IFCNT0", "A11612", "H0ZFCNT0"),  # a stock future on the index TR
        ("H0ZFCNT0", "A01612", "H0IFCNT0"),  # an index future on the stock TR
        ("H0ZOCNT0", "B01612350", "H0IOCNT0"),
        ("H0IFASP0", "B01612350", "H0IOASP0"),  # index option on the index futures book
        ("H0ZFANC0", "A01612", "H0IFCNT0"),  # no index expected-price TR: its trade TR
        ("H0IFCNT0", "101W9000", "H0MFCNT0"),  # a night code on a day TR
        ("H0ZOASP0", "201W8185", "H0EUASP0"),
        ("H0EUCNT0", "A11612", "H0ZFCNT0"),  # no night session for stock F/O (reference 6)
        ("H0MFCNT0", "201W8185", "H0EUCNT0"),  # an option on the night futures TR
        ("H0MFASP0", "B01612350", "H0EUASP0"),  # a KIS-form option code: the night option TR
    ],
)
def test_a_code_of_another_product_or_market_is_one_line_naming_the_right_tr(tr_id, code, right):
    with pytest.raises(UsageError) as caught:
        check_code(tr_id, code)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(code) and message.endswith(f"use {right}"), message


def test_a_master_with_garbage_lines_reads_its_entries_and_counts_the_rest(tmp_path):
    path = tmp_path / INDEX_MASTER_NAME
    path.write_bytes(INDEX_MASTER.encode("cp949"))
    master = read_master(path)
    assert [e.code for e in master.entries][:3] == ["A01612", "A01703", "A05612"]
    assert len(master.entries) == 8 and master.skipped == 3
    by_code = master.by_code()
    assert by_code["A01612"].tr_ids == ("H0IFCNT0", "H0IFASP0")  # the index TRs: the file's name
    assert by_code["C01612350"].tr_ids == ("H0IOCNT0", "H0IOASP0")
    assert (by_code["A01612"].expiry_month, by_code["B01612352"].strike) == ("202612", 352.5)
    assert (by_code["CAFBZW970"].kind, by_code["CAFBZW970"].expiry_month) == ("put", "202609")
    renamed = tmp_path / "index.mst"  # another name: each row by its code's underlying id
    renamed.write_bytes(path.read_bytes())
    assert read_master(renamed).by_code()["A01612"].market == "index"
    only_garbage = tmp_path / "bad.mst"
    only_garbage.write_bytes(b"\xff\xfe not a master\n|||\n")
    with pytest.raises(ConfigError, match="holds no master lines"):
        read_master(only_garbage)


def test_an_index_is_found_by_any_of_its_names(tmp_path):
    path = tmp_path / INDEX_MASTER_NAME
    path.write_bytes(INDEX_MASTER.encode("cp949"))
    master = read_master(path)
    for name in ("KOSPI200", "kospi200", "코스피200", "K200", "2001"):
        assert underlying_of(master, name) == ("2001", "KOSPI200"), name
    assert underlying_of(master, "코스닥150") == ("3003", "KSQ150")
    assert {e.underlying_code for e in search(master, "코스피200")} == {"2001"}
    assert len(search(master, "k200", kind="put")) == 2


def test_an_unknown_underlying_is_one_line_listing_what_exists(tmp_path):
    path = tmp_path / INDEX_MASTER_NAME
    path.write_bytes(INDEX_MASTER.encode("cp949"))
    with pytest.raises(ConfigError) as caught:
        underlying_of(read_master(path), "NIKKEI225")
    message = str(caught.value)
    assert "\n" not in message and "'NIKKEI225' is not an underlying" in message
    assert message.endswith("known: KOSPI200, KSQ150")


def _zip(name: str, content: str | bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(name, content.encode("cp949") if isinstance(content, str) else content)
    return out.getvalue()


STOCK_LINE = "1|A11612|KR4A116C0001|삼성전자   F 202612 (  10)| |00000.00|1|005930|삼성전자"


def _night_files(tmp_path) -> dict[str, bytes]:
    """The night masters of the index master's KOSPI200 futures and options (fixed width)."""
    entries, _ = parse_master(INDEX_MASTER, "index")
    futures = [e for e in entries if e.kind == "future"]
    options = [e for e in entries if e.kind in ("call", "put")]
    return {
        name: write_night_master(tmp_path / name, chosen).read_bytes()
        for name, chosen in ((NIGHT_FUTURES_MASTER, futures), (NIGHT_OPTIONS_MASTER, options))
    }


def test_every_master_is_downloaded_cached_and_merged(tmp_path):
    asked: list[str] = []
    files = {MASTER_NAME: STOCK_LINE, INDEX_MASTER_NAME: INDEX_MASTER, **_night_files(tmp_path)}

    def serve(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        name = request.url.path.rsplit("/", 1)[-1].removesuffix(".zip")
        return httpx.Response(200, content=_zip(name, files[name]))

    cache = tmp_path / "cache"
    master = download_masters(cache, transport=httpx.MockTransport(serve))
    assert asked == [f"/common/master/{name}.zip" for name in MASTER_NAMES] and not master.missing
    markets = {(e.code, e.market) for e in master.entries}
    assert {("A11612", "stock"), ("A01612", "index"), ("A01612", "night"), ("C01612350", "night")} <= markets
    night = [e for e in master.entries if e.market == "night"]
    assert night[0].tr_ids == ("H0MFCNT0", "H0MFASP0")  # the night master's rows: the night TRs
    assert master.by_code()["A01612"].market == "index"  # a code of two masters: the day one first
    again = download_masters(cache, transport=httpx.MockTransport(serve))  # from the cache
    assert len(asked) == 4 and "cached" in again.source and len(again.entries) == len(master.entries)


def test_a_master_that_cannot_be_had_is_named_and_the_others_serve(tmp_path):
    def serve(request: httpx.Request) -> httpx.Response:
        if MASTER_NAME not in request.url.path:
            return httpx.Response(404)
        return httpx.Response(200, content=_zip(MASTER_NAME, STOCK_LINE))

    master = download_masters(tmp_path, transport=httpx.MockTransport(serve))
    assert [e.code for e in master.entries] == ["A11612"]
    assert len(master.missing) == 3 and master.missing[0].startswith(f"{INDEX_MASTER_NAME}: cannot download")
    assert "404" in master.missing[0]
    with pytest.raises(KisfeedError, match="cannot download"):
        download_masters(tmp_path / "empty", transport=httpx.MockTransport(lambda r: httpx.Response(500)))
