"""Table-driven data-frame tests: (TR, wire text, expected records) → decode, and encode back."""

from __future__ import annotations

import math
from datetime import date, datetime, time

import msgspec
import pytest

import kisfeed
from kisfeed.exceptions import FieldError, FrameError, ParseError
from kisfeed.protocol import crypto, decode_frame, decode_frame_lenient, encode_frame
from kisfeed.schema import CODECS, KST, FuturesTrade, OptionTrade, Sign

from ..samples import frame, texts, values

F, O = "H0ZFCNT0", "H0ZOCNT0"
NAN = float("nan")


def second_future() -> tuple[list[str], dict]:
    wire = texts(
        F,
        code="A11703",
        time="093016",
        price="64400",
        change_sign="3",
        change="0",
        change_rate="0.00",
        last_volume="10",
        volume="12355",
    )
    return wire, values(
        F,
        code="A11703",
        time=time(9, 30, 16),
        price=64400,
        change_sign=Sign.UNCHANGED,
        change=0,
        change_rate=0.0,
        last_volume=10,
        volume=12355,
    )


def nth_option(n: int) -> tuple[list[str], dict]:
    code = f"C11612{60 + n:03d}"
    wire = texts(O, code=code, price=f"{1000 + n}.50", last_volume=str(n + 1))
    return wire, values(O, code=code, price=1000 + n + 0.5, last_volume=n + 1)


FUT2 = second_future()
OPTS = [nth_option(n) for n in range(4)]

# (id, TR, wire text, expected: list of (values, extra, missing))
CASES = [
    ("futures-1", F, frame(F, texts(F)), [(values(F), (), 0)]),
    (
        "futures-4",
        F,
        frame(F, texts(F), FUT2[0], texts(F), FUT2[0]),
        [(values(F), (), 0), (FUT2[1], (), 0), (values(F), (), 0), (FUT2[1], (), 0)],
    ),
    ("options-1", O, frame(O, texts(O)), [(values(O), (), 0)]),
    ("options-4", O, frame(O, *[w for w, _ in OPTS]), [(v, (), 0) for _, v in OPTS]),
    (
        "negatives",
        F,
        frame(
            F,
            texts(
                F,
                change="-1250",
                change_rate="-1.91",
                vs_high="-3000",
                open_interest_change="-7",
                net_buy_trades="-44",
            ),
        ),
        [
            (
                values(
                    F,
                    change=-1250,
                    change_rate=-1.91,
                    vs_high=-3000,
                    open_interest_change=-7,
                    net_buy_trades=-44,
                ),
                (),
                0,
            )
        ],
    ),
    # 000000 is "not set" (reference 2.5, 4.4: the portal examples' OPRC/HGPR/LWPR_HOUR), in the
    # trade time too (reference 6: no stock F/O session spans midnight)
    (
        "times-000000",
        F,
        frame(F, texts(F, open_time="000000", high_time="000000", low_time="000000")),
        [(values(F, open_time=None, high_time=None, low_time=None), (), 0)],
    ),
    (
        "trade-time-000000",
        O,
        frame(O, texts(O, time="000000", open_time="000000")),
        [(values(O, time=None, open_time=None), (), 0)],
    ),
    (
        "nan",
        O,
        frame(
            O,
            texts(
                O,
                theoretical_price="-nan",
                delta="-nan",
                gamma="-nan",
                theta="nan",
                historical_volatility="nan",
                disparity_rate="-nan",
            ),
        ),
        [
            (
                values(
                    O,
                    theoretical_price=NAN,
                    delta=NAN,
                    gamma=NAN,
                    theta=NAN,
                    historical_volatility=NAN,
                    disparity_rate=NAN,
                ),
                (),
                0,
            )
        ],
    ),
    (
        "empty-fields",
        F,
        frame(F, texts(F, theoretical_price="", vs_open_sign="", dynamic_limit_flag="", volume="")),
        [(values(F, theoretical_price=None, vs_open_sign=None, dynamic_limit_flag=None, volume=None), (), 0)],
    ),
    ("empty-time", F, frame(F, texts(F, high_time="")), [(values(F, high_time=None), (), 0)]),
    # only a text field empty: the fast path must not keep "" where every other kind gives None
    (
        "empty-text-field",
        F,
        frame(F, texts(F, dynamic_limit_flag="")),
        [(values(F, dynamic_limit_flag=None), (), 0)],
    ),
    (
        "extra-fields",
        O,
        frame(O, texts(O) + ["70700.00", "N", "57900.00"]),
        [(values(O), ("70700.00", "N", "57900.00"), 0)],
    ),
    (
        "extra-fields-2-records",
        F,
        frame(F, texts(F) + ["x", ""], FUT2[0] + ["y", "7"]),
        [(values(F), ("x", ""), 0), (FUT2[1], ("y", "7"), 0)],
    ),
    (
        "truncated",
        F,
        frame(F, texts(F)[:46]),
        [(values(F, dynamic_upper_limit=None, dynamic_lower_limit=None, dynamic_limit_flag=None), (), 3)],
    ),
    (
        "truncated-2-records",
        O,
        frame(O, texts(O)[:50], texts(O)[:50]),
        [(values(O, total_ask_qty=None, total_bid_qty=None, volume_rate=None), (), 3)] * 2,
    ),
    # NNN says 1 but two records' worth came: the reference rule (width = fields ÷ count) keeps
    # the surplus raw on the one record instead of guessing boundaries.
    ("count-1-for-2-records", F, frame(F, texts(F), FUT2[0], count=1), [(values(F), tuple(FUT2[0]), 0)]),
]


def same(actual: object, expected: object) -> bool:
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(actual, float) and math.isnan(actual)
    return type(actual) is type(expected) and actual == expected


@pytest.mark.parametrize("case_id, tr_id, wire, expected", CASES, ids=[c[0] for c in CASES])
def test_decode_table(case_id, tr_id, wire, expected):
    records = kisfeed.decode(wire)
    assert len(records) == len(expected)
    for record, (fields, extra, missing) in zip(records, expected):
        assert record.tr_id == tr_id
        assert isinstance(record, FuturesTrade if tr_id == F else OptionTrade)
        wrong = {k: (getattr(record, k), v) for k, v in fields.items() if not same(getattr(record, k), v)}
        assert not wrong, wrong
        assert record.extra == extra
        assert record.missing == missing
        assert record.complete is (missing == 0)


# Short records encode at full width (test_truncated_encodes_padded); the rest give back their text.
# An empty time field is None, which is written back as KIS writes a time not set: 000000.
FULL_WIDTH = [c for c in CASES if not c[0].startswith("truncated") and c[0] != "empty-time"]


@pytest.mark.parametrize("case_id, tr_id, wire, expected", FULL_WIDTH, ids=[c[0] for c in FULL_WIDTH])
def test_encode_round_trips_to_the_same_text(case_id, tr_id, wire, expected):
    assert encode_frame(tr_id, decode_frame(wire)) == wire.replace("-nan", "nan")


def test_decimals_keep_their_value_when_the_wire_pads_zeros():
    # Greeks' decimal count is [UNK] (reference 4.4); a float keeps the value, not the padding.
    (record,) = kisfeed.decode(frame(O, texts(O, vega="92.3100")))
    assert record.vega == 92.31
    assert CODECS[O].encode(record)[30] == "92.31"


def test_truncated_encodes_padded():
    (record,) = decode_frame(frame(F, texts(F)[:46]))
    assert encode_frame(F, [record]) == frame(F, texts(F)[:46] + ["", "", ""])


BAD = [
    ("not-a-frame", "hello", FrameError, None, None),
    ("empty", "", FrameError, None, None),
    ("bad-flag", "2|H0ZFCNT0|001|" + "^".join(texts(F)), FrameError, None, None),
    ("unknown-tr", "0|H0STCNT0|001|005930^090000", FrameError, None, None),
    ("count-000", "0|H0ZFCNT0|000|" + "^".join(texts(F)), FrameError, None, None),
    ("count-not-digits", "0|H0ZFCNT0|0x1|" + "^".join(texts(F)), FrameError, None, None),
    ("count-two-digits", "0|H0ZFCNT0|01|" + "^".join(texts(F)), FrameError, None, None),
    ("count-does-not-divide", frame(F, texts(F), count=2), FrameError, None, None),
    ("count-3-for-2-records", frame(F, texts(F), texts(F), count=3), FrameError, None, None),
    ("bad-int", frame(F, texts(F, volume="12a45")), FieldError, 10, "12a45"),
    ("bad-price", frame(F, texts(F, price="64,300")), FieldError, 2, "64,300"),
    ("bad-time", frame(F, texts(F, time="256000")), FieldError, 1, "256000"),
    ("short-time", frame(O, texts(O, time="9301")), FieldError, 1, "9301"),
    ("bad-sign", frame(F, texts(F, change_sign="9")), FieldError, 3, "9"),
    ("bad-decimal", frame(O, texts(O, delta="0.5.1")), FieldError, 28, "0.5.1"),
    ("int-with-space", frame(F, texts(F, volume=" 12")), FieldError, 10, " 12"),
    ("encrypted-without-key", "1|H0ZFCNT0|001|AAAA", FrameError, None, None),
]


@pytest.mark.parametrize("case_id, wire, error, field_index, raw", BAD, ids=[b[0] for b in BAD])
def test_bad_frames_raise_the_named_error(case_id, wire, error, field_index, raw):
    with pytest.raises(error) as caught:
        kisfeed.decode(wire)
    assert isinstance(caught.value, ParseError)
    assert caught.value.field_index == field_index
    if raw is not None:
        assert caught.value.raw == raw
        assert caught.value.tr_id in (F, O)
        assert caught.value.record_index == 0
    else:
        assert caught.value.raw == wire


def test_a_bad_record_spoils_only_itself():
    wire = frame(F, texts(F), texts(F, volume="?"), FUT2[0])
    records, errors = decode_frame_lenient(wire)
    assert [r.code for r in records] == ["A11612", "A11703"]
    assert [(e.record_index, e.field_index, e.raw) for e in errors] == [(1, 10, "?")]
    with pytest.raises(FieldError):
        decode_frame(wire)


KEY, IV = "abcdefghijklmnopabcdefghijklmnop", "0123456789abcdef"


def test_encrypted_frame_with_known_key_and_iv():
    plaintext = "^".join(texts(F)) + "^" + "^".join(FUT2[0])
    payload = crypto.encrypt(plaintext, KEY, IV)
    # base64 of AES-256-CBC: a whole number of 16-byte blocks, PKCS#7 padded
    assert len(crypto.decrypt(payload, KEY, IV)) == len(plaintext)
    wire = f"1|{F}|002|{payload}"
    records = decode_frame(wire, keys={F: (KEY, IV)})
    assert [r.code for r in records] == ["A11612", "A11703"]
    assert records[1].volume == 12355
    assert encode_frame(F, records, key_iv=(KEY, IV)) == wire
    with pytest.raises(FrameError, match="cannot decrypt"):
        decode_frame(wire, keys={F: (KEY[::-1], IV)})


def test_receive_metadata_and_exchange_time():
    (record,) = decode_frame(frame(F, texts(F)), trading_date=date(2026, 11, 20), received_ns=123)
    assert record.trading_date == date(2026, 11, 20)
    assert record.received_ns == 123
    assert record.exchange_time == datetime(2026, 11, 20, 9, 30, 15, tzinfo=KST)
    assert kisfeed.decode(frame(F, texts(F)))[0].exchange_time is None


def test_to_dict_by_english_kis_and_korean_keys():
    (record,) = kisfeed.decode(frame(O, texts(O)))
    english, kis, korean = (record.to_dict(keys=k) for k in ("english", "kis", "korean"))
    assert len(english) == len(kis) == len(korean) == 53 + 3  # the layout, then the times
    assert english["price"] == kis["OPTN_PRPR"] == korean["옵션현재가"] == 1250.0
    assert english["implied_volatility"] == kis["HTS_INTS_VLTL"] == korean["HTS내재변동성"] == 31.42
    assert list(kis)[:3] == ["OPTN_SHRN_ISCD", "BSOP_HOUR", "OPTN_PRPR"]
    with pytest.raises(ValueError):
        record.to_dict(keys="french")  # type: ignore[arg-type]


@pytest.mark.parametrize("keys", ["english", "kis", "korean"])
def test_to_dict_carries_the_trading_date_exchange_time_and_receive_time(keys):
    # issue 11 item 13: without them pd.DataFrame([r.to_dict() ...]) has no timestamp
    (record,) = kisfeed.decode(frame(F, texts(F)), trading_date=date(2026, 11, 20))
    record = msgspec.structs.replace(record, received_ns=1_763_600_000_000_000_000)
    out = record.to_dict(keys=keys)
    assert out["trading_date"] == date(2026, 11, 20)
    assert out["exchange_time"] == datetime(2026, 11, 20, 9, 30, 15, tzinfo=KST)
    assert out["received_ns"] == 1_763_600_000_000_000_000
    assert list(out)[-3:] == ["trading_date", "exchange_time", "received_ns"]


def test_records_are_frozen_and_hashable():
    (record,) = kisfeed.decode(frame(F, texts(F)))
    with pytest.raises(AttributeError):
        record.price = 1  # type: ignore[misc]
    assert record in {record}


def test_fast_and_careful_paths_agree():
    wire = frame(O, *[w for w, _ in OPTS])
    fast = CODECS[O].decode_fast(wire.split("|", 3)[3], 4, CODECS[O].width)
    careful, errors = CODECS[O].decode_carefully(wire.split("|", 3)[3].split("^"), 4)
    assert not errors
    assert fast == careful
