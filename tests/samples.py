"""Hand-written wire records of the fifteen TRs with their expected typed values (from the layouts).

Values follow the relations of reference 4.4 so that they also read as plausible trades.
"""

from __future__ import annotations

import json
from datetime import time

from kisfeed.schema import Sign

# H0ZFCNT0, 49 fields: (wire text, expected value) in wire order.
FUTURES_FIELDS: list[tuple[str, object]] = [
    ("A11612", "A11612"),  # FUTS_SHRN_ISCD
    ("093015", time(9, 30, 15)),  # BSOP_HOUR
    ("64300", 64300),  # STCK_PRPR
    ("5", Sign.DOWN),  # PRDY_VRSS_SIGN
    ("-300", -300),  # PRDY_VRSS
    ("-0.46", -0.46),  # FUTS_PRDY_CTRT
    ("64500", 64500),  # STCK_OPRC
    ("64800", 64800),  # STCK_HGPR
    ("64100", 64100),  # STCK_LWPR
    ("3", 3),  # LAST_CNQN
    ("12345", 12345),  # ACML_VOL
    ("7950000000", 7950000000),  # ACML_TR_PBMN
    ("64299.50", 64299.5),  # HTS_THPR
    ("250.00", 250.0),  # MRKT_BASIS
    ("0.00", 0.0),  # DPRT
    ("64300.00", 64300.0),  # NMSC_FCTN_STPL_PRC
    ("64800.00", 64800.0),  # FMSC_FCTN_STPL_PRC
    ("500.00", 500.0),  # SPEAD_PRC
    ("23456", 23456),  # HTS_OTST_STPL_QTY
    ("-120", -120),  # OTST_STPL_QTY_ICDC
    ("000000", None),  # OPRC_HOUR: 000000 as in the official examples, "not set" (reference 2.5)
    ("5", Sign.DOWN),  # OPRC_VRSS_PRPR_SIGN
    ("-200", -200),  # OPRC_VRSS_PRPR
    ("091500", time(9, 15, 0)),  # HGPR_HOUR
    ("5", Sign.DOWN),  # HGPR_VRSS_PRPR_SIGN
    ("-500", -500),  # HGPR_VRSS_PRPR
    ("090300", time(9, 3, 0)),  # LWPR_HOUR
    ("2", Sign.UP),  # LWPR_VRSS_PRPR_SIGN
    ("200", 200),  # LWPR_VRSS_PRPR
    ("0.51", 0.51),  # SHNU_RATE
    ("105.00", 105.0),  # CTTR
    ("0.50", 0.5),  # ESDG
    ("3", 3),  # OTST_STPL_RGBF_QTY_ICDC
    ("249.50", 249.5),  # THPR_BASIS
    ("64400", 64400),  # ASKP1
    ("64300", 64300),  # BIDP1
    ("12", 12),  # ASKP_RSQN1
    ("30", 30),  # BIDP_RSQN1
    ("1500", 1500),  # SELN_CNTG_CSNU
    ("1600", 1600),  # SHNU_CNTG_CSNU
    ("100", 100),  # NTBY_CNTG_CSNU
    ("6000", 6000),  # SELN_CNTG_SMTN
    ("6300", 6300),  # SHNU_CNTG_SMTN
    ("1234", 1234),  # TOTAL_ASKP_RSQN
    ("2345", 2345),  # TOTAL_BIDP_RSQN
    ("85.12", 85.12),  # PRDY_VOL_VRSS_ACML_VOL_RATE
    ("70700", 70700),  # DYNM_MXPR
    ("57900", 57900),  # DYNM_LLAM
    ("N", "N"),  # DYNM_PRC_LIMT_YN
]

# H0ZOCNT0, 53 fields.
OPTION_FIELDS: list[tuple[str, object]] = [
    ("B11612065", "B11612065"),  # OPTN_SHRN_ISCD
    ("100502", time(10, 5, 2)),  # BSOP_HOUR
    ("1250.00", 1250.0),  # OPTN_PRPR
    ("2", Sign.UP),  # PRDY_VRSS_SIGN
    ("150.00", 150.0),  # OPTN_PRDY_VRSS
    ("13.64", 13.64),  # PRDY_CTRT
    ("1100.00", 1100.0),  # OPTN_OPRC
    ("1300.00", 1300.0),  # OPTN_HGPR
    ("1050.00", 1050.0),  # OPTN_LWPR
    ("5", 5),  # LAST_CNQN
    ("842", 842),  # ACML_VOL
    ("10525000", 10525000),  # ACML_TR_PBMN
    ("1243.55", 1243.55),  # HTS_THPR
    ("5210", 5210),  # HTS_OTST_STPL_QTY
    ("-35", -35),  # OTST_STPL_QTY_ICDC
    ("090012", time(9, 0, 12)),  # OPRC_HOUR
    ("2", Sign.UP),  # OPRC_VRSS_PRPR_SIGN
    ("150.00", 150.0),  # OPRC_VRSS_NMIX_PRPR
    ("093001", time(9, 30, 1)),  # HGPR_HOUR
    ("5", Sign.DOWN),  # HGPR_VRSS_PRPR_SIGN
    ("-50.00", -50.0),  # HGPR_VRSS_NMIX_PRPR
    ("091512", time(9, 15, 12)),  # LWPR_HOUR
    ("2", Sign.UP),  # LWPR_VRSS_PRPR_SIGN
    ("200.00", 200.0),  # LWPR_VRSS_NMIX_PRPR
    ("0.50", 0.5),  # SHNU_RATE
    ("1250.00", 1250.0),  # PRMM_VAL
    ("300.00", 300.0),  # INVL_VAL
    ("950.00", 950.0),  # TMVL_VAL
    ("0.5512", 0.5512),  # DELTA (4 decimals, as third-party fixtures have)
    ("0.0009", 0.0009),  # GAMA
    ("92.3141", 92.3141),  # VEGA
    ("-41.2236", -41.2236),  # THETA
    ("18.0517", 18.0517),  # RHO
    ("31.42", 31.42),  # HTS_INTS_VLTL
    ("6.45", 6.45),  # ESDG
    ("2", 2),  # OTST_STPL_RGBF_QTY_ICDC
    ("-56350.00", -56350.0),  # THPR_BASIS
    ("28.77", 28.77),  # UNAS_HIST_VLTL
    ("100.48", 100.48),  # CTTR
    ("0.52", 0.52),  # DPRT
    ("-56343.55", -56343.55),  # MRKT_BASIS
    ("1260.00", 1260.0),  # OPTN_ASKP1
    ("1250.00", 1250.0),  # OPTN_BIDP1
    ("10", 10),  # ASKP_RSQN1
    ("14", 14),  # BIDP_RSQN1
    ("311", 311),  # SELN_CNTG_CSNU
    ("300", 300),  # SHNU_CNTG_CSNU
    ("-11", -11),  # NTBY_CNTG_CSNU
    ("420", 420),  # SELN_CNTG_SMTN
    ("422", 422),  # SHNU_CNTG_SMTN
    ("310", 310),  # TOTAL_ASKP_RSQN
    ("290", 290),  # TOTAL_BIDP_RSQN
    ("120.40", 120.4),  # PRDY_VOL_VRSS_ACML_VOL_RATE
]


def _book(
    tr_id: str, prices: dict[str, tuple[str, object]], code: str = "A11612"
) -> list[tuple[str, object]]:
    """A book record in ``tr_id``'s wire order from values by name: the given price levels, the
    rest empty as KIS writes them (price 0, ``0.00`` where prices have decimals, quantity and
    count 0), totals the level sums."""
    from kisfeed.schema import LAYOUTS

    layout = LAYOUTS[tr_id]
    decimal = layout.by_name["ask1"].kind.python_type is float
    empty_price = ("0.00", 0.0) if decimal else ("0", 0)
    by_name: dict[str, tuple[str, object]] = {"code": (code, code), "time": ("090001", time(9, 0, 1))}
    for side in ("ask", "bid"):
        qty_sum = count_sum = 0
        for n in range(1, layout.depth + 1):
            name = f"{side}{n}"
            published = name in prices
            qty, count = (3 * n + (side == "bid"), n) if published else (0, 0)
            by_name[name] = prices.get(name, empty_price)
            by_name[f"{name}_qty"] = (str(qty), qty)
            by_name[f"{name}_count"] = (str(count), count)
            qty_sum, count_sum = qty_sum + qty, count_sum + count
        by_name[f"total_{side}_qty"] = (str(qty_sum), qty_sum)
        by_name[f"total_{side}_count"] = (str(count_sum), count_sum)
    by_name["total_ask_qty_change"] = ("-4", -4)
    by_name["total_bid_qty_change"] = ("7", 7)
    return [by_name[f.name] for f in LAYOUTS[tr_id].fields]


# H0ZFASP0, 68 fields: 10 ask levels and 7 bid levels at 100 KRW ticks (the futures tick at 64,300).
FUTURES_BOOK_FIELDS = _book(
    "H0ZFASP0",
    {f"ask{n}": (str(64300 + 100 * n), 64300 + 100 * n) for n in range(1, 11)}
    | {f"bid{n}": (str(64300 - 100 * (n - 1)), 64300 - 100 * (n - 1)) for n in range(1, 8)},
)
# H0ZOASP0, 68 fields: a thin option book, 3 asks and 6 bids (levels 6-10 sit after the totals).
OPTION_BOOK_FIELDS = _book(
    "H0ZOASP0",
    {f"ask{n}": (f"{1250 + 10 * n}.00", 1250.0 + 10 * n) for n in range(1, 4)}
    | {f"bid{n}": (f"{1250 - 10 * (n - 1)}.00", 1250.0 - 10 * (n - 1)) for n in range(1, 7)},
    code="B11612065",
)
# H0ZFANC0, 8 fields: an expected opening price (the pre-open auction, reference 4.5).
FUTURES_EXPECTED_FIELDS: list[tuple[str, object]] = [
    ("A11612", "A11612"),  # FUTS_SHRN_ISCD
    ("084130", time(8, 41, 30)),  # BSOP_HOUR
    ("64400", 64400),  # ANTC_CNPR
    ("-200", -200),  # ANTC_CNTG_VRSS
    ("5", Sign.DOWN),  # ANTC_CNTG_VRSS_SIGN
    ("-0.31", -0.31),  # ANTC_CNTG_PRDY_CTRT
    ("311", "311"),  # ANTC_MKOP_CLS_CODE (values [UNK] for derivatives: kept raw)
    ("23", 23),  # ANTC_CNQN
]
# H0ZOANC0, 7 fields as the official list has them (the layout's 8th, ANTC_CNQN, is optional).
OPTION_EXPECTED_FIELDS: list[tuple[str, object]] = [
    ("B11612065", "B11612065"),  # OPTN_SHRN_ISCD
    ("154012", time(15, 40, 12)),  # BSOP_HOUR
    ("1260.00", 1260.0),  # ANTC_CNPR
    ("10.00", 10.0),  # ANTC_CNTG_VRSS
    ("2", Sign.UP),  # ANTC_CNTG_VRSS_SIGN
    ("0.80", 0.8),  # ANTC_CNTG_PRDY_CTRT
    ("121", "121"),  # ANTC_MKOP_CLS_CODE
]


def _by_name(tr_id: str, fields: dict[str, tuple[str, object]]) -> list[tuple[str, object]]:
    """A record in ``tr_id``'s wire order from (text, value) by English name: the layout, not
    the writer, decides where each goes (so a frame built from the official list in its own
    order, tests/schema/test_family.py, checks the layout)."""
    from kisfeed.schema import LAYOUTS

    layout = LAYOUTS[tr_id]
    assert set(fields) == {f.name for f in layout.fields}, set(fields) ^ {f.name for f in layout.fields}
    return [fields[f.name] for f in layout.fields]


def _signed(text: str) -> tuple[str, object]:
    return text, Sign(int(text))


def _decimal(text: str) -> tuple[str, object]:
    return text, float(text)


def _int(text: str) -> tuple[str, object]:
    return text, int(text)


# A KOSPI200 futures trade in index points (H0IFCNT0 / H0MFCNT0), by name: the price is 355.25,
# at index 5 of the wire record (index 2 holds the change, 2.35).
_INDEX_FUTURES: dict[str, tuple[str, object]] = {
    "code": ("A01612", "A01612"),
    "time": ("100512", time(10, 5, 12)),
    "change": _decimal("2.35"),
    "change_sign": _signed("2"),
    "change_rate": _decimal("0.67"),
    "price": _decimal("355.25"),
    "open": _decimal("353.10"),
    "high": _decimal("356.00"),
    "low": _decimal("352.40"),
    "last_volume": _int("2"),
    "volume": _int("154321"),
    "turnover": _int("13712345"),
    "theoretical_price": _decimal("355.62"),
    "market_basis": _decimal("1.87"),
    "disparity_rate": _decimal("-0.10"),
    "near_month_price": _decimal("0.00"),
    "far_month_price": _decimal("0.00"),
    "spread": _decimal("0.00"),
    "open_interest": _int("301234"),
    "open_interest_change": _int("-1520"),
    "open_time": ("084500", time(8, 45)),
    "vs_open_sign": _signed("2"),
    "vs_open": _decimal("2.15"),
    "high_time": ("095012", time(9, 50, 12)),
    "vs_high_sign": _signed("5"),
    "vs_high": _decimal("-0.75"),
    "low_time": ("085030", time(8, 50, 30)),
    "vs_low_sign": _signed("2"),
    "vs_low": _decimal("2.85"),
    "buy_ratio": _decimal("51.20"),
    "trade_strength": _decimal("104.40"),
    "disparity": _decimal("-0.37"),
    "open_interest_tick_change": _int("3"),
    "theoretical_basis": _decimal("2.24"),
    "ask1": _decimal("355.30"),
    "bid1": _decimal("355.25"),
    "ask1_qty": _int("12"),
    "bid1_qty": _int("25"),
    "sell_trades": _int("40211"),
    "buy_trades": _int("41877"),
    "net_buy_trades": _int("1666"),
    "sell_volume": _int("75011"),
    "buy_volume": _int("78310"),
    "total_ask_qty": _int("1520"),
    "total_bid_qty": _int("1710"),
    "volume_rate": _decimal("91.35"),
    "block_volume": _int("120"),
    "dynamic_upper_limit": _decimal("362.35"),
    "dynamic_lower_limit": _decimal("348.15"),
    "dynamic_limit_flag": ("N", "N"),
}
INDEX_FUTURES_FIELDS = _by_name("H0IFCNT0", _INDEX_FUTURES)
# H0MFCNT0: the same trade in the night session (after midnight), without DSCS_BLTR_ACML_QTY.
NIGHT_FUTURES_FIELDS = _by_name(
    "H0MFCNT0",
    {k: v for k, v in _INDEX_FUTURES.items() if k != "block_volume"} | {"time": ("013015", time(1, 30, 15))},
)


# A KOSPI200 call in index points (H0IOCNT0 / H0EUCNT0), by name: the stock option sample with
# premiums of a few points.
def _stock_option_by_name() -> dict[str, tuple[str, object]]:
    from kisfeed.schema import LAYOUTS

    return {f.name: value for f, value in zip(LAYOUTS["H0ZOCNT0"].fields, OPTION_FIELDS)}


_INDEX_OPTION: dict[str, tuple[str, object]] = _stock_option_by_name() | {
    "code": ("B01612355", "B01612355"),
    "price": _decimal("3.45"),
    "change": _decimal("0.25"),
    "change_rate": _decimal("7.81"),
    "open": _decimal("3.20"),
    "high": _decimal("3.60"),
    "low": _decimal("3.05"),
    "turnover": _int("72450000"),
    "theoretical_price": _decimal("3.41"),
    "vs_open": _decimal("0.25"),
    "vs_high": _decimal("-0.15"),
    "vs_low": _decimal("0.40"),
    "premium": _decimal("3.45"),
    "intrinsic_value": _decimal("0.25"),
    "time_value": _decimal("3.20"),
    "disparity": _decimal("0.04"),
    "theoretical_basis": _decimal("-351.84"),
    "market_basis": _decimal("-351.80"),
    "ask1": _decimal("3.50"),
    "bid1": _decimal("3.45"),
    "dynamic_upper_limit": _decimal("5.45"),
    "dynamic_lower_limit": _decimal("1.45"),
    "dynamic_limit_flag": ("N", "N"),
}
INDEX_OPTION_FIELDS = _by_name(
    "H0IOCNT0", _INDEX_OPTION | {"average_volatility": _decimal("17.85"), "block_volume": _int("40")}
)
# H0EUCNT0: the night trade; its DYNM_PRC_LIMT_YN sits before DYNM_LLAM (reference 4.6).
NIGHT_OPTION_FIELDS = _by_name("H0EUCNT0", _INDEX_OPTION | {"time": ("231502", time(23, 15, 2))})

# The 5-level books (38 fields): futures at the 0.05-point tick, options at 0.05 above 10 points
# and 0.01 below (a thin series: 2 asks, 4 bids).
INDEX_FUTURES_BOOK_FIELDS = _book(
    "H0IFASP0",
    {f"ask{n}": _decimal(f"{355.25 + 0.05 * n:.2f}") for n in range(1, 6)}
    | {f"bid{n}": _decimal(f"{355.25 - 0.05 * (n - 1):.2f}") for n in range(1, 6)},
    code="A01612",
)
NIGHT_FUTURES_BOOK_FIELDS = _book(
    "H0MFASP0",
    {f"ask{n}": _decimal(f"{355.25 + 0.05 * n:.2f}") for n in range(1, 4)}
    | {f"bid{n}": _decimal(f"{355.25 - 0.05 * (n - 1):.2f}") for n in range(1, 6)},
    code="A01612",
)
INDEX_OPTION_BOOK_FIELDS = _book(
    "H0IOASP0",
    {f"ask{n}": _decimal(f"{12.00 + 0.05 * n:.2f}") for n in range(1, 6)}
    | {f"bid{n}": _decimal(f"{12.00 - 0.05 * (n - 1):.2f}") for n in range(1, 6)},
    code="B01612340",
)
NIGHT_OPTION_BOOK_FIELDS = _book(
    "H0EUASP0",
    {f"ask{n}": _decimal(f"{3.45 + 0.01 * n:.2f}") for n in range(1, 3)}
    | {f"bid{n}": _decimal(f"{3.45 - 0.01 * (n - 1):.2f}") for n in range(1, 5)},
    code="B01612355",
)
# H0EUANC0, 8 fields: an expected price in the night opening auction (17:50-18:00).
NIGHT_OPTION_EXPECTED_FIELDS: list[tuple[str, object]] = [
    ("B01612355", "B01612355"),  # OPTN_SHRN_ISCD
    ("175512", time(17, 55, 12)),  # BSOP_HOUR
    ("3.40", 3.4),  # ANTC_CNPR
    ("-0.05", -0.05),  # ANTC_CNTG_VRSS
    ("5", Sign.DOWN),  # ANTC_CNTG_VRSS_SIGN
    ("-1.45", -1.45),  # ANTC_CNTG_PRDY_CTRT
    ("311", "311"),  # ANTC_MKOP_CLS_CODE
    ("12", 12),  # ANTC_CNQN
]

SAMPLES = {
    "H0ZFCNT0": FUTURES_FIELDS,
    "H0ZOCNT0": OPTION_FIELDS,
    "H0ZFASP0": FUTURES_BOOK_FIELDS,
    "H0ZOASP0": OPTION_BOOK_FIELDS,
    "H0ZFANC0": FUTURES_EXPECTED_FIELDS,
    "H0ZOANC0": OPTION_EXPECTED_FIELDS,
    "H0IFCNT0": INDEX_FUTURES_FIELDS,
    "H0IFASP0": INDEX_FUTURES_BOOK_FIELDS,
    "H0IOCNT0": INDEX_OPTION_FIELDS,
    "H0IOASP0": INDEX_OPTION_BOOK_FIELDS,
    "H0MFCNT0": NIGHT_FUTURES_FIELDS,
    "H0MFASP0": NIGHT_FUTURES_BOOK_FIELDS,
    "H0EUCNT0": NIGHT_OPTION_FIELDS,
    "H0EUASP0": NIGHT_OPTION_BOOK_FIELDS,
    "H0EUANC0": NIGHT_OPTION_EXPECTED_FIELDS,
}


def texts(tr_id: str, **changes: str) -> list[str]:
    """The wire texts of a sample record, with some fields (by English name) replaced."""
    from kisfeed.schema import LAYOUTS

    out = [text for text, _ in SAMPLES[tr_id]]
    for name, text in changes.items():
        out[LAYOUTS[tr_id].by_name[name].index] = text
    return out


def values(tr_id: str, **changes: object) -> dict[str, object]:
    """The expected values of a sample record by English name, with some replaced."""
    from kisfeed.schema import LAYOUTS

    fields = LAYOUTS[tr_id].fields
    out = {f.name: value for f, (_, value) in zip(fields, SAMPLES[tr_id])}
    out.update({f.name: None for f in fields[len(SAMPLES[tr_id]) :]})  # optional fields not sent
    out.update(changes)
    return out


def frame(tr_id: str, *records: list[str], count: int | None = None) -> str:
    """A plain data frame of the given records (field text lists); ``count`` overrides NNN."""
    n = len(records) if count is None else count
    return f"0|{tr_id}|{n:03d}|" + "^".join("^".join(r) for r in records)


def encrypted_ack(key: str, iv: str, tr_id: str = "H0ZFCNT0", code: str = "A11612") -> str:
    """A subscribe ack that carries the AES key and iv of an encrypted registration (reference
    3.3): what the journal holds before that registration's encrypted frames."""
    return json.dumps(
        {
            "header": {"tr_id": tr_id, "tr_key": code, "encrypt": "Y"},
            "body": {
                "rt_cd": "0",
                "msg_cd": "OPSP0000",
                "msg1": "SUBSCRIBE SUCCESS",
                "output": {"iv": iv, "key": key},
            },
        }
    )
