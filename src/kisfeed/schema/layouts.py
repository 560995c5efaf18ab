"""The field layouts of the real-time TRs, as data: the only place a field index is written.

Each row is (KIS column code, Korean label, English name, kind) in wire order, copied from the
seed specs (``tests/data/``) and checked against reference sections 4.1 and 4.2. The parser, the
simulator's frame writer, the storage columns and the docs all read these tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..exceptions import UnknownTRError
from .kinds import Kind

__all__ = ["Field", "Layout", "FUTURES_TRADE", "OPTION_TRADE", "LAYOUTS", "layout_for"]

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


@dataclass(frozen=True)
class Layout:
    tr_id: str
    korean: str
    english: str
    fields: tuple[Field, ...]
    by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    @property
    def width(self) -> int:
        return len(self.fields)


def _layout(tr_id: str, korean: str, english: str, rows: list[tuple[str, str, str, Kind]]) -> Layout:
    fields = tuple(Field(i, kis, ko, name, kind) for i, (kis, ko, name, kind) in enumerate(rows))
    return Layout(tr_id, korean, english, fields)


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
OPTION_TRADE = _layout(
    "H0ZOCNT0",
    "주식옵션 실시간체결가",
    "stock option trade",
    [
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
    ],
)

LAYOUTS: dict[str, Layout] = {layout.tr_id: layout for layout in (FUTURES_TRADE, OPTION_TRADE)}


def layout_for(tr_id: str) -> Layout:
    try:
        return LAYOUTS[tr_id]
    except KeyError:
        raise UnknownTRError(tr_id) from None
