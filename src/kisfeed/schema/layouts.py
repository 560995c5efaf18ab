"""The field layouts of the real-time TRs, as data: the only place a field index is written.

Each row is (KIS column code, Korean label, English name, kind) in wire order: the trades copied
from the seed specs (``tests/data/``, reference 4.1 and 4.2), the books and expected prices from
the official sample's ``columns`` lists (``tests/data/family/``, reference 4.5). The parser, the
simulator's frame writer, the storage columns and the docs all read these tables, by name: the
two book TRs put the same fields in different orders, and code that reads ``ask1`` by name
reads either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..exceptions import UnknownTRError
from .kinds import Kind

__all__ = [
    "Field",
    "Layout",
    "Category",
    "Product",
    "FUTURES_TRADE",
    "OPTION_TRADE",
    "FUTURES_BOOK",
    "OPTION_BOOK",
    "FUTURES_EXPECTED",
    "OPTION_EXPECTED",
    "INDEX_FUTURES_TRADE",
    "INDEX_FUTURES_BOOK",
    "INDEX_OPTION_TRADE",
    "INDEX_OPTION_BOOK",
    "NIGHT_FUTURES_TRADE",
    "NIGHT_FUTURES_BOOK",
    "NIGHT_OPTION_TRADE",
    "NIGHT_OPTION_BOOK",
    "NIGHT_OPTION_EXPECTED",
    "Market",
    "PRODUCT_OF_KIND",
    "LAYOUTS",
    "layout_for",
    "trs_for",
]

C, T, I, S, P, D, G, F = (  # noqa: E741 - one letter per kind keeps the tables readable
    Kind.CODE,
    Kind.TIME,
    Kind.INT,
    Kind.SIGNED,
    Kind.PRICE,
    Kind.DECIMAL,
    Kind.SIGN,
    Kind.FLAG,
)


@dataclass(frozen=True, slots=True)
class Field:
    index: int
    kis: str  # KIS column code as the spec writes it, e.g. STCK_PRPR
    korean: str  # 한글명 from the spec
    name: str  # English attribute name on the record
    kind: Kind


Category = Literal["trade", "book", "expected"]
Product = Literal["futures", "option"]
#: Which instruments and session a TR carries: stock F/O (``ZF``/``ZO``), KOSPI200 index F/O in
#: the day session (``IF``/``IO``), the KRX night session (``MF``/``EU``, reference 4.6).
Market = Literal["stock", "index", "night"]


@dataclass(frozen=True)
class Layout:
    tr_id: str
    korean: str
    english: str
    category: Category
    product: Product
    market: Market
    fields: tuple[Field, ...]
    #: How many leading fields a complete record carries: the width, but for a layout whose
    #: last fields some frames may lack without being short (H0ZOANC0's ``ANTC_CNQN``).
    required: int = -1
    by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})
        if self.required < 0:
            object.__setattr__(self, "required", len(self.fields))

    @property
    def width(self) -> int:
        return len(self.fields)

    @property
    def depth(self) -> int:
        """Price levels per side of a book layout (``ask1``..``askN``); 0 for the others (a
        trade record carries the best quotes, not a book)."""
        if self.category != "book":
            return 0
        return sum(1 for f in self.fields if f.name.startswith("ask") and f.name[3:].isdigit())


def _layout(
    tr_id: str,
    korean: str,
    english: str,
    rows: list[tuple[str, str, str, Kind]],
    *,
    required: int = -1,
) -> Layout:
    fields = tuple(Field(i, kis, ko, name, kind) for i, (kis, ko, name, kind) in enumerate(rows))
    product, market = _PRODUCTS[tr_id[2:4]]
    return Layout(tr_id, korean, english, _CATEGORIES[tr_id[4:]], product, market, fields, required)


# The TR id grammar (reference 4.6): H0 + product (ZF stock futures, ZO stock options, IF/IO
# index futures/options, MF/EU KRX night futures/options) + kind (CNT0, ASP0, ANC0).
_CATEGORIES: dict[str, Category] = {"CNT0": "trade", "ASP0": "book", "ANC0": "expected"}
_PRODUCTS: dict[str, tuple[Product, Market]] = {
    "ZF": ("futures", "stock"),
    "ZO": ("option", "stock"),
    "IF": ("futures", "index"),
    "IO": ("option", "index"),
    "MF": ("futures", "night"),
    "EU": ("option", "night"),
}


# H0ZFCNT0 주식선물 실시간체결가 [실시간-029]: 49 fields (seed spec; reference 4.1).
FUTURES_TRADE = _layout(
    "H0ZFCNT0",
    "주식선물 실시간체결가",
    "stock futures trade",
    [
        ("FUTS_SHRN_ISCD", "선물단축종목코드", "code", C),
        ("BSOP_HOUR", "영업시간", "time", T),
        ("STCK_PRPR", "주식현재가", "price", P),
        ("PRDY_VRSS_SIGN", "전일대비부호", "change_sign", G),
        ("PRDY_VRSS", "전일대비", "change", S),
        ("FUTS_PRDY_CTRT", "선물전일대비율", "change_rate", D),
        ("STCK_OPRC", "주식시가2", "open", P),
        ("STCK_HGPR", "주식최고가", "high", P),
        ("STCK_LWPR", "주식최저가", "low", P),
        ("LAST_CNQN", "최종거래량", "last_volume", I),
        ("ACML_VOL", "누적거래량", "volume", I),
        ("ACML_TR_PBMN", "누적거래대금", "turnover", I),
        ("HTS_THPR", "HTS이론가", "theoretical_price", D),
        ("MRKT_BASIS", "시장베이시스", "market_basis", D),
        ("DPRT", "괴리율", "disparity_rate", D),
        ("NMSC_FCTN_STPL_PRC", "근월물약정가", "near_month_price", D),
        ("FMSC_FCTN_STPL_PRC", "원월물약정가", "far_month_price", D),
        ("SPEAD_PRC", "스프레드1", "spread", D),
        ("HTS_OTST_STPL_QTY", "HTS미결제약정수량", "open_interest", I),
        ("OTST_STPL_QTY_ICDC", "미결제약정수량증감", "open_interest_change", S),
        ("OPRC_HOUR", "시가시간", "open_time", T),
        ("OPRC_VRSS_PRPR_SIGN", "시가2대비현재가부호", "vs_open_sign", G),
        ("OPRC_VRSS_PRPR", "시가2대비현재가", "vs_open", S),
        ("HGPR_HOUR", "최고가시간", "high_time", T),
        ("HGPR_VRSS_PRPR_SIGN", "최고가대비현재가부호", "vs_high_sign", G),
        ("HGPR_VRSS_PRPR", "최고가대비현재가", "vs_high", S),
        ("LWPR_HOUR", "최저가시간", "low_time", T),
        ("LWPR_VRSS_PRPR_SIGN", "최저가대비현재가부호", "vs_low_sign", G),
        ("LWPR_VRSS_PRPR", "최저가대비현재가", "vs_low", S),
        ("SHNU_RATE", "매수2비율", "buy_ratio", D),
        ("CTTR", "체결강도", "trade_strength", D),
        ("ESDG", "괴리도", "disparity", D),
        ("OTST_STPL_RGBF_QTY_ICDC", "미결제약정직전수량증감", "open_interest_tick_change", S),
        ("THPR_BASIS", "이론베이시스", "theoretical_basis", D),
        ("ASKP1", "매도호가1", "ask1", P),
        ("BIDP1", "매수호가1", "bid1", P),
        ("ASKP_RSQN1", "매도호가잔량1", "ask1_qty", I),
        ("BIDP_RSQN1", "매수호가잔량1", "bid1_qty", I),
        ("SELN_CNTG_CSNU", "매도체결건수", "sell_trades", I),
        ("SHNU_CNTG_CSNU", "매수체결건수", "buy_trades", I),
        ("NTBY_CNTG_CSNU", "순매수체결건수", "net_buy_trades", S),
        ("SELN_CNTG_SMTN", "총매도수량", "sell_volume", I),
        ("SHNU_CNTG_SMTN", "총매수수량", "buy_volume", I),
        ("TOTAL_ASKP_RSQN", "총매도호가잔량", "total_ask_qty", I),
        ("TOTAL_BIDP_RSQN", "총매수호가잔량", "total_bid_qty", I),
        ("PRDY_VOL_VRSS_ACML_VOL_RATE", "전일거래량대비등락율", "volume_rate", D),
        ("DYNM_MXPR", "실시간상한가", "dynamic_upper_limit", P),
        ("DYNM_LLAM", "실시간하한가", "dynamic_lower_limit", P),
        ("DYNM_PRC_LIMT_YN", "실시간가격제한구분", "dynamic_limit_flag", F),  # Y/N or 0: [UNK], kept as text
    ],
)

# H0ZOCNT0 주식옵션 실시간체결가 [실시간-044]: 53 fields (seed spec; reference 4.2). Premiums and
# every derived value carry 2 decimals on the wire, so they are DECIMAL where futures have PRICE.
_OPTION_TRADE_ROWS: list[tuple[str, str, str, Kind]] = [
    ("OPTN_SHRN_ISCD", "옵션단축종목코드", "code", C),
    ("BSOP_HOUR", "영업시간", "time", T),
    ("OPTN_PRPR", "옵션현재가", "price", D),
    ("PRDY_VRSS_SIGN", "전일대비부호", "change_sign", G),
    ("OPTN_PRDY_VRSS", "옵션전일대비", "change", D),
    ("PRDY_CTRT", "전일대비율", "change_rate", D),
    ("OPTN_OPRC", "옵션시가2", "open", D),
    ("OPTN_HGPR", "옵션최고가", "high", D),
    ("OPTN_LWPR", "옵션최저가", "low", D),
    ("LAST_CNQN", "최종거래량", "last_volume", I),
    ("ACML_VOL", "누적거래량", "volume", I),
    ("ACML_TR_PBMN", "누적거래대금", "turnover", I),
    ("HTS_THPR", "HTS이론가", "theoretical_price", D),
    ("HTS_OTST_STPL_QTY", "HTS미결제약정수량", "open_interest", I),
    ("OTST_STPL_QTY_ICDC", "미결제약정수량증감", "open_interest_change", S),
    ("OPRC_HOUR", "시가시간", "open_time", T),
    ("OPRC_VRSS_PRPR_SIGN", "시가2대비현재가부호", "vs_open_sign", G),
    ("OPRC_VRSS_NMIX_PRPR", "시가대비지수현재가", "vs_open", D),
    ("HGPR_HOUR", "최고가시간", "high_time", T),
    ("HGPR_VRSS_PRPR_SIGN", "최고가대비현재가부호", "vs_high_sign", G),
    ("HGPR_VRSS_NMIX_PRPR", "최고가대비지수현재가", "vs_high", D),
    ("LWPR_HOUR", "최저가시간", "low_time", T),
    ("LWPR_VRSS_PRPR_SIGN", "최저가대비현재가부호", "vs_low_sign", G),
    ("LWPR_VRSS_NMIX_PRPR", "최저가대비지수현재가", "vs_low", D),
    ("SHNU_RATE", "매수2비율", "buy_ratio", D),
    ("PRMM_VAL", "프리미엄값", "premium", D),
    ("INVL_VAL", "내재가치값", "intrinsic_value", D),
    ("TMVL_VAL", "시간가치값", "time_value", D),
    ("DELTA", "델타", "delta", D),
    ("GAMA", "감마", "gamma", D),
    ("VEGA", "베가", "vega", D),
    ("THETA", "세타", "theta", D),
    ("RHO", "로우", "rho", D),
    ("HTS_INTS_VLTL", "HTS내재변동성", "implied_volatility", D),
    ("ESDG", "괴리도", "disparity", D),
    ("OTST_STPL_RGBF_QTY_ICDC", "미결제약정직전수량증감", "open_interest_tick_change", S),
    ("THPR_BASIS", "이론베이시스", "theoretical_basis", D),
    ("UNAS_HIST_VLTL", "역사적변동성", "historical_volatility", D),
    ("CTTR", "체결강도", "trade_strength", D),
    ("DPRT", "괴리율", "disparity_rate", D),
    ("MRKT_BASIS", "시장베이시스", "market_basis", D),
    ("OPTN_ASKP1", "옵션매도호가1", "ask1", D),
    ("OPTN_BIDP1", "옵션매수호가1", "bid1", D),
    ("ASKP_RSQN1", "매도호가잔량1", "ask1_qty", I),
    ("BIDP_RSQN1", "매수호가잔량1", "bid1_qty", I),
    ("SELN_CNTG_CSNU", "매도체결건수", "sell_trades", I),
    ("SHNU_CNTG_CSNU", "매수체결건수", "buy_trades", I),
    ("NTBY_CNTG_CSNU", "순매수체결건수", "net_buy_trades", S),
    ("SELN_CNTG_SMTN", "총매도수량", "sell_volume", I),
    ("SHNU_CNTG_SMTN", "총매수수량", "buy_volume", I),
    ("TOTAL_ASKP_RSQN", "총매도호가잔량", "total_ask_qty", I),
    ("TOTAL_BIDP_RSQN", "총매수호가잔량", "total_bid_qty", I),
    ("PRDY_VOL_VRSS_ACML_VOL_RATE", "전일거래량대비등락율", "volume_rate", D),
]
OPTION_TRADE = _layout("H0ZOCNT0", "주식옵션 실시간체결가", "stock option trade", _OPTION_TRADE_ROWS)


def _book_rows(
    price_prefix: str, korean_prefix: str, kind: Kind, levels: range
) -> list[tuple[str, str, str, Kind]]:
    """The six groups of a block of book levels, each holding the block's levels back to back:
    ask prices, bid prices, ask counts, bid counts, ask quantities, bid quantities."""
    groups = (
        (f"{price_prefix}ASKP", f"{korean_prefix}매도호가", "ask{}", kind),
        (f"{price_prefix}BIDP", f"{korean_prefix}매수호가", "bid{}", kind),
        ("ASKP_CSNU", "매도호가건수", "ask{}_count", I),
        ("BIDP_CSNU", "매수호가건수", "bid{}_count", I),
        ("ASKP_RSQN", "매도호가잔량", "ask{}_qty", I),
        ("BIDP_RSQN", "매수호가잔량", "bid{}_qty", I),
    )
    return [(f"{kis}{n}", f"{ko}{n}", name.format(n), k) for kis, ko, name, k in groups for n in levels]


# The six totals of a book. KRX sums them over the published levels since 2024 (reference 4.5).
_BOOK_TOTALS = [
    ("TOTAL_ASKP_CSNU", "총매도호가건수", "total_ask_count", I),
    ("TOTAL_BIDP_CSNU", "총매수호가건수", "total_bid_count", I),
    ("TOTAL_ASKP_RSQN", "총매도호가잔량", "total_ask_qty", I),
    ("TOTAL_BIDP_RSQN", "총매수호가잔량", "total_bid_qty", I),
    ("TOTAL_ASKP_RSQN_ICDC", "총매도호가잔량증감", "total_ask_qty_change", S),
    ("TOTAL_BIDP_RSQN_ICDC", "총매수호가잔량증감", "total_bid_qty_change", S),
]

# H0ZFASP0 주식선물 실시간호가 [실시간-030]: 68 fields, 10 levels, each group contiguous, the
# totals last; price codes without a FUTS_ prefix (reference 4.5). The legacy sample reads it in
# the 5-level order of H0ZOASP0 instead; ``records`` refuses a book that reads that way.
FUTURES_BOOK = _layout(
    "H0ZFASP0",
    "주식선물 실시간호가",
    "stock futures order book",
    [("FUTS_SHRN_ISCD", "선물단축종목코드", "code", C), ("BSOP_HOUR", "영업시간", "time", T)]
    + _book_rows("", "", P, range(1, 11))
    + _BOOK_TOTALS,
)

# H0ZOASP0 주식옵션 실시간호가 [실시간-045]: 68 fields, levels 1-5, the totals, then levels 6-10
# in the same group order: the 5-level index-option book with a second block appended
# (reference 4.5). Premiums carry 2 decimals; an empty level is ``0.00`` / ``0``.
OPTION_BOOK = _layout(
    "H0ZOASP0",
    "주식옵션 실시간호가",
    "stock option order book",
    [("OPTN_SHRN_ISCD", "종목코드", "code", C), ("BSOP_HOUR", "영업시간", "time", T)]
    + _book_rows("OPTN_", "옵션", D, range(1, 6))
    + _BOOK_TOTALS
    + _book_rows("OPTN_", "옵션", D, range(6, 11)),
)


def _expected_rows(code: str, korean: str, kind: Kind, change: Kind) -> list[tuple[str, str, str, Kind]]:
    return [
        (code, korean, "code", C),
        ("BSOP_HOUR", "영업시간", "time", T),
        ("ANTC_CNPR", "예상체결가", "price", kind),
        ("ANTC_CNTG_VRSS", "예상체결대비", "change", change),
        ("ANTC_CNTG_VRSS_SIGN", "예상체결대비부호", "change_sign", G),
        ("ANTC_CNTG_PRDY_CTRT", "예상체결전일대비율", "change_rate", D),
        # 예상장운영구분코드: 3 characters, values undocumented for derivatives [UNK]: kept raw
        ("ANTC_MKOP_CLS_CODE", "예상장운영구분코드", "session_code", C),
        # 예상체결수량: added by KRX in April 2024 (reference 4.5)
        ("ANTC_CNQN", "예상체결수량", "quantity", I),
    ]


# H0ZFANC0 주식선물 실시간예상체결 [실시간-031]: 8 fields, during the single-price auctions.
FUTURES_EXPECTED = _layout(
    "H0ZFANC0",
    "주식선물 실시간예상체결",
    "stock futures expected price",
    _expected_rows("FUTS_SHRN_ISCD", "선물단축종목코드", P, S),
)

# H0ZOANC0 주식옵션 실시간예상체결 [실시간-046]: the official list has 7 fields, H0ZFANC0's without
# ANTC_CNQN; whether live frames carry it now is [UNK] (H0EUANC0, the night-option twin, has 8).
# So the layout has 8 of which 7 are required: a 7-field record is complete with quantity None,
# an 8-field one gives the quantity (reference 4.5: "parse by width").
OPTION_EXPECTED = _layout(
    "H0ZOANC0",
    "주식옵션 실시간예상체결",
    "stock option expected price",
    _expected_rows("OPTN_SHRN_ISCD", "옵션단축종목코드", D, D),
    required=7,
)

# ---------------------------------------------------------------------------------------------
# KOSPI200 index futures and options (day session) and the KRX night session (reference 4.6),
# from the official sample's ``columns`` lists (tests/data/family/). Index prices are points with
# two decimals, so every price of these TRs is DECIMAL, where stock futures have integer won.
# The English names are those of the stock TR of the same product and category: a futures
# trade reads ``price`` whichever TR carried it, at index 5 here and 2 in H0ZFCNT0.

_DYNAMIC_LIMITS = [
    ("DYNM_MXPR", "실시간상한가", "dynamic_upper_limit", D),
    ("DYNM_LLAM", "실시간하한가", "dynamic_lower_limit", D),
    ("DYNM_PRC_LIMT_YN", "실시간가격제한구분", "dynamic_limit_flag", F),
]
_BLOCK_VOLUME = ("DSCS_BLTR_ACML_QTY", "협의대량거래량", "block_volume", I)

# H0IFCNT0 지수선물 실시간체결가 [실시간-010]: 50 fields. The head differs from H0ZFCNT0's: the
# change at 2, its rate at 4 and the price at 5 (H0ZFCNT0: price 2, change 4, rate 5); the
# *_VRSS_NMIX_PRPR and FUTS_ASKP1/BIDP1 codes; DSCS_BLTR_ACML_QTY at 46 before the DYNM_*.
_INDEX_FUTURES_TRADE_ROWS: list[tuple[str, str, str, Kind]] = [
    ("FUTS_SHRN_ISCD", "선물단축종목코드", "code", C),
    ("BSOP_HOUR", "영업시간", "time", T),
    ("FUTS_PRDY_VRSS", "선물전일대비", "change", D),
    ("PRDY_VRSS_SIGN", "전일대비부호", "change_sign", G),
    ("FUTS_PRDY_CTRT", "선물전일대비율", "change_rate", D),
    ("FUTS_PRPR", "선물현재가", "price", D),
    ("FUTS_OPRC", "선물시가2", "open", D),
    ("FUTS_HGPR", "선물최고가", "high", D),
    ("FUTS_LWPR", "선물최저가", "low", D),
    ("LAST_CNQN", "최종거래량", "last_volume", I),
    ("ACML_VOL", "누적거래량", "volume", I),
    ("ACML_TR_PBMN", "누적거래대금", "turnover", I),
    ("HTS_THPR", "HTS이론가", "theoretical_price", D),
    ("MRKT_BASIS", "시장베이시스", "market_basis", D),
    ("DPRT", "괴리율", "disparity_rate", D),
    ("NMSC_FCTN_STPL_PRC", "근월물약정가", "near_month_price", D),
    ("FMSC_FCTN_STPL_PRC", "원월물약정가", "far_month_price", D),
    ("SPEAD_PRC", "스프레드1", "spread", D),
    ("HTS_OTST_STPL_QTY", "HTS미결제약정수량", "open_interest", I),
    ("OTST_STPL_QTY_ICDC", "미결제약정수량증감", "open_interest_change", S),
    ("OPRC_HOUR", "시가시간", "open_time", T),
    ("OPRC_VRSS_PRPR_SIGN", "시가2대비현재가부호", "vs_open_sign", G),
    ("OPRC_VRSS_NMIX_PRPR", "시가대비지수현재가", "vs_open", D),
    ("HGPR_HOUR", "최고가시간", "high_time", T),
    ("HGPR_VRSS_PRPR_SIGN", "최고가대비현재가부호", "vs_high_sign", G),
    ("HGPR_VRSS_NMIX_PRPR", "최고가대비지수현재가", "vs_high", D),
    ("LWPR_HOUR", "최저가시간", "low_time", T),
    ("LWPR_VRSS_PRPR_SIGN", "최저가대비현재가부호", "vs_low_sign", G),
    ("LWPR_VRSS_NMIX_PRPR", "최저가대비지수현재가", "vs_low", D),
    ("SHNU_RATE", "매수2비율", "buy_ratio", D),
    ("CTTR", "체결강도", "trade_strength", D),
    ("ESDG", "괴리도", "disparity", D),
    ("OTST_STPL_RGBF_QTY_ICDC", "미결제약정직전수량증감", "open_interest_tick_change", S),
    ("THPR_BASIS", "이론베이시스", "theoretical_basis", D),
    ("FUTS_ASKP1", "선물매도호가1", "ask1", D),
    ("FUTS_BIDP1", "선물매수호가1", "bid1", D),
    ("ASKP_RSQN1", "매도호가잔량1", "ask1_qty", I),
    ("BIDP_RSQN1", "매수호가잔량1", "bid1_qty", I),
    ("SELN_CNTG_CSNU", "매도체결건수", "sell_trades", I),
    ("SHNU_CNTG_CSNU", "매수체결건수", "buy_trades", I),
    ("NTBY_CNTG_CSNU", "순매수체결건수", "net_buy_trades", S),
    ("SELN_CNTG_SMTN", "총매도수량", "sell_volume", I),
    ("SHNU_CNTG_SMTN", "총매수수량", "buy_volume", I),
    ("TOTAL_ASKP_RSQN", "총매도호가잔량", "total_ask_qty", I),
    ("TOTAL_BIDP_RSQN", "총매수호가잔량", "total_bid_qty", I),
    ("PRDY_VOL_VRSS_ACML_VOL_RATE", "전일거래량대비등락율", "volume_rate", D),
    _BLOCK_VOLUME,
    *_DYNAMIC_LIMITS,
]
INDEX_FUTURES_TRADE = _layout(
    "H0IFCNT0", "지수선물 실시간체결가", "index futures trade", _INDEX_FUTURES_TRADE_ROWS
)

# The 5-level books of H0IFASP0/H0MFASP0 and H0IOASP0/H0EUASP0 (38 fields): code, time, the six
# groups of levels 1-5, the totals; index-point prices with a FUTS_/OPTN_ prefix (reference 4.6).
_FIVE_LEVEL_FUTURES_BOOK = (
    [("FUTS_SHRN_ISCD", "선물단축종목코드", "code", C), ("BSOP_HOUR", "영업시간", "time", T)]
    + _book_rows("FUTS_", "선물", D, range(1, 6))
    + _BOOK_TOTALS
)
_FIVE_LEVEL_OPTION_BOOK = (
    [("OPTN_SHRN_ISCD", "옵션단축종목코드", "code", C), ("BSOP_HOUR", "영업시간", "time", T)]
    + _book_rows("OPTN_", "옵션", D, range(1, 6))
    + _BOOK_TOTALS
)

# H0IFASP0 지수선물 실시간호가 [실시간-011]: 38 fields, 5 levels, the totals after level 5.
INDEX_FUTURES_BOOK = _layout(
    "H0IFASP0",
    "지수선물 실시간호가",
    "index futures order book",
    _FIVE_LEVEL_FUTURES_BOOK,
)

# H0IOCNT0 지수옵션 실시간체결가 [실시간-014]: 58 fields, H0ZOCNT0's 53 then AVRG_VLTL,
# DSCS_LRQN_VOL (the options' code for the block-trade volume) and the three DYNM_*.
INDEX_OPTION_TRADE = _layout(
    "H0IOCNT0",
    "지수옵션 실시간체결가",
    "index option trade",
    _OPTION_TRADE_ROWS
    + [
        ("AVRG_VLTL", "평균변동성", "average_volatility", D),
        ("DSCS_LRQN_VOL", "협의대량누적거래량", "block_volume", I),
        *_DYNAMIC_LIMITS,
    ],
)

# H0IOASP0 지수옵션 실시간호가 [실시간-015]: 38 fields, H0ZOASP0's first 38 (5 levels, totals).
INDEX_OPTION_BOOK = _layout(
    "H0IOASP0",
    "지수옵션 실시간호가",
    "index option order book",
    _FIVE_LEVEL_OPTION_BOOK,
)

# H0MFCNT0 KRX야간선물 실시간종목체결 [실시간-064]: 49 fields, H0IFCNT0 without
# DSCS_BLTR_ACML_QTY, so its DYNM_* sit at 46-48 (47-49 in H0IFCNT0).
NIGHT_FUTURES_TRADE = _layout(
    "H0MFCNT0",
    "KRX야간선물 실시간종목체결",
    "night futures trade",
    [row for row in _INDEX_FUTURES_TRADE_ROWS if row is not _BLOCK_VOLUME],
)

# H0MFASP0 KRX야간선물 실시간호가 [실시간-065]: 38 fields, the codes of H0IFASP0.
NIGHT_FUTURES_BOOK = _layout(
    "H0MFASP0",
    "KRX야간선물 실시간호가",
    "night futures order book",
    _FIVE_LEVEL_FUTURES_BOOK,
)

# H0EUCNT0 KRX야간옵션 실시간체결가 [실시간-032]: 56 fields, H0ZOCNT0's 53 then DYNM_MXPR,
# DYNM_PRC_LIMT_YN, DYNM_LLAM: the flag BEFORE the lower limit, unlike every other TR (the
# official list; an independent Go client notes the same order, reference 4.6).
_UPPER, _LOWER, _FLAG = _DYNAMIC_LIMITS
NIGHT_OPTION_TRADE = _layout(
    "H0EUCNT0", "KRX야간옵션 실시간체결가", "night option trade", _OPTION_TRADE_ROWS + [_UPPER, _FLAG, _LOWER]
)

# H0EUASP0 KRX야간옵션 실시간호가 [실시간-033]: 38 fields, the codes of H0IOASP0.
NIGHT_OPTION_BOOK = _layout(
    "H0EUASP0",
    "KRX야간옵션 실시간호가",
    "night option order book",
    _FIVE_LEVEL_OPTION_BOOK,
)

# H0EUANC0 KRX야간옵션실시간예상체결 [실시간-034]: 8 fields, H0ZFANC0's with the option code;
# ANTC_CNQN is in the official list here, so all 8 are required.
NIGHT_OPTION_EXPECTED = _layout(
    "H0EUANC0",
    "KRX야간옵션실시간예상체결",
    "night option expected price",
    _expected_rows("OPTN_SHRN_ISCD", "옵션단축종목코드", D, D),
)

LAYOUTS: dict[str, Layout] = {
    layout.tr_id: layout
    for layout in (
        FUTURES_TRADE,
        OPTION_TRADE,
        FUTURES_BOOK,
        OPTION_BOOK,
        FUTURES_EXPECTED,
        OPTION_EXPECTED,
        INDEX_FUTURES_TRADE,
        INDEX_FUTURES_BOOK,
        INDEX_OPTION_TRADE,
        INDEX_OPTION_BOOK,
        NIGHT_FUTURES_TRADE,
        NIGHT_FUTURES_BOOK,
        NIGHT_OPTION_TRADE,
        NIGHT_OPTION_BOOK,
        NIGHT_OPTION_EXPECTED,
    )
}

#: An instrument kind (master files, ``schema.master``) → its product.
PRODUCT_OF_KIND: dict[str, Product] = {"future": "futures", "call": "option", "put": "option"}


def layout_for(tr_id: str) -> Layout:
    try:
        return LAYOUTS[tr_id]
    except KeyError:
        raise UnknownTRError(tr_id) from None


def trs_for(kind: str, market: Market = "stock") -> tuple[str, ...]:
    """The TR ids an instrument of ``kind`` ("future", "call" or "put") traded in ``market``
    (stock F/O, KOSPI200 index F/O, or the night session) can be subscribed on, its trade TR
    first, then its book and its expected price where the family has one; () for another kind
    (a spread has no real-time TR here)."""
    product = PRODUCT_OF_KIND.get(kind)
    return tuple(
        tr for tr, layout in LAYOUTS.items() if layout.product == product and layout.market == market
    )
