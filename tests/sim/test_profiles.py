"""Field profiles (``sim.profiles``, ``SimConfig.profile``) and the Greek/volatility formats:
what the simulator writes beyond the market model (issue 14, gaps 5 and 8)."""

from __future__ import annotations

import re

import pytest

from kisfeed.schema.layouts import FUTURES_TRADE, OPTION_TRADE, layout_for
from kisfeed.sim import Simulator
from kisfeed.sim.profiles import OBSERVED, Profile, blanks_for

from .helpers import config

# The portal's official example frames (KIS portal, 2024-05), as quoted in issue 14's brief.
EXAMPLES = {
    FUTURES_TRADE.tr_id: "111V06^091639^77900^5^-100^-0.13^77900^77900^77300^5^1724^1337128000^77899.50^400.00"
    "^0.00^0.00^0.00^-500.00^32053^219^000000^3^0^000000^3^0^000000^2^600^0.36^58.23^0.50^-1^399.50^77900"
    "^77800^0^0^105^36^-69^1075^626^0^0^6.23^0^0^0",
    OPTION_TRADE.tr_id: "211V05059^091940^1060.00^5^-120.00^-10.17^970.00^1140.00^970.00^6^563^5933200^35464.07"
    "^1134^-2^000000^2^90.00^000000^5^-80.00^000000^2^90.00^0.43^0.00^0.00^1060.00^1.00^0.00^0.00^-4.06^20.58"
    "^0.31^-34404.07^0^-41735.93^0.26^74.84^-97.01^-76140.00^1100.00^1040.00^6^175^13^16^3^322^241^241^184^12.33",
}


def records(profile: Profile, count: int = 3000, **settings: object) -> list[tuple[str, list[str]]]:
    """The first ``count`` records of a few codes (the two front futures months of one underlying
    and the busiest options), straight from the simulator's market: no sockets, so both profiles see the same
    trades."""
    sim = Simulator(config(profile=profile, **settings))
    underlying = sim.busiest(FUTURES_TRADE.tr_id)[0].underlying.code
    futures = [i.code for i in sim.instruments if i.kind == "future" and i.underlying.code == underlying][:2]
    options = [i.code for i in sim.busiest(OPTION_TRADE.tr_id)[:10]]
    sim.market.watched.update(futures + options)
    out: list[tuple[str, list[str]]] = []
    while len(out) < count:
        event = sim.market.next_event()
        out += [(event.tr_id, text.split("^")) for text in event.records]
    return out


@pytest.mark.parametrize("tr_id", [FUTURES_TRADE.tr_id, OPTION_TRADE.tr_id])
def test_the_observed_table_is_what_the_official_examples_carry(tr_id: str) -> None:
    example = dict(zip((f.kis for f in layout_for(tr_id).fields), EXAMPLES[tr_id].split("^"), strict=True))
    assert {kis: example[kis] for kis in OBSERVED[tr_id]} == OBSERVED[tr_id]
    if tr_id == FUTURES_TRADE.tr_id:  # the spread is written although both month prices are not
        assert (example["SPEAD_PRC"], example["ASKP1"], example["BIDP1"]) == ("-500.00", "77900", "77800")


def test_observed_differs_from_filled_only_in_the_emptied_fields() -> None:
    observed, filled = records("observed"), records("filled")
    assert [tr for tr, _ in observed] == [tr for tr, _ in filled]  # the same market
    changed: dict[str, set[str]] = {}
    for (tr_id, seen), (_, full) in zip(observed, filled, strict=True):
        layout = layout_for(tr_id)
        blanks = blanks_for(tr_id, "observed")
        for f, text, value in zip(layout.fields, seen, full, strict=True):
            if f.name in blanks:
                assert text == blanks[f.name], f.name
                if value != text:
                    changed.setdefault(tr_id, set()).add(f.kis)
            else:
                assert text == value, f.name  # SPEAD_PRC, ASKP1/BIDP1 included
    # filled writes the market's values where observed leaves them empty (every field, over a run)
    assert changed == {tr_id: set(table) for tr_id, table in OBSERVED.items()}


def test_filled_is_the_market_as_computed() -> None:
    assert blanks_for(FUTURES_TRADE.tr_id, "filled") == blanks_for(OPTION_TRADE.tr_id, "filled") == {}
    for tr_id, fields in records("filled", 500):
        layout = layout_for(tr_id)
        by_name = dict(zip((f.name for f in layout.fields), fields, strict=True))
        assert by_name["open_time"] != "000000"
        if tr_id == OPTION_TRADE.tr_id:
            assert by_name["premium"] == by_name["price"]
        else:
            near, far = float(by_name["near_month_price"]), float(by_name["far_month_price"])
            assert float(by_name["spread"]) == far - near


def test_the_sample_record_follows_the_profile() -> None:
    # the base of the malformed-frame fault: as the profile writes records
    for profile in ("observed", "filled"):
        tr_id, text = Simulator(config(profile=profile)).sample_record()
        fields = dict(zip((f.kis for f in layout_for(tr_id).fields), text.split("^"), strict=True))
        assert (fields["OPRC_HOUR"] == "000000") is (profile == "observed")


GREEKS = ("DELTA", "GAMA", "VEGA", "THETA", "RHO")


def _option_fields(profile: Profile, **settings: object) -> list[dict[str, str]]:
    kis = [f.kis for f in OPTION_TRADE.fields]
    return [
        dict(zip(kis, fields, strict=True))
        for tr_id, fields in records(profile, 1500, **settings)
        if tr_id == OPTION_TRADE.tr_id
    ]


def test_greeks_have_two_decimals_and_volatilities_are_fractions_by_default() -> None:
    # The official H0ZOCNT0 example: 1.00^0.00^0.00^-4.06^20.58 and HTS_INTS_VLTL 0.31,
    # UNAS_HIST_VLTL 0.26 (reference 4.4, 8.7 mark both [UNK]; SimConfig documents the choice).
    options = _option_fields("observed")
    assert options
    for fields in options:
        for name in GREEKS:
            assert re.fullmatch(r"-?\d+\.\d\d", fields[name]), (name, fields[name])
        assert fields["GAMA"] == "0.00"  # gamma per won rounds to zero at 2 decimals, as in the example
        assert 0 < float(fields["UNAS_HIST_VLTL"]) < 2 and re.fullmatch(r"\d\.\d\d", fields["UNAS_HIST_VLTL"])
        iv = fields["HTS_INTS_VLTL"]
        assert iv == "nan" or (0 < float(iv) < 5 and re.fullmatch(r"\d\.\d\d", iv))


def test_percent_volatilities_and_four_decimal_greeks_when_set() -> None:
    fractions = _option_fields("filled")
    percents = _option_fields("filled", volatility_unit="percent", greek_decimals=4)
    assert len(fractions) == len(percents)
    for low, high in zip(fractions, percents, strict=True):
        assert abs(float(high["UNAS_HIST_VLTL"]) - 100 * float(low["UNAS_HIST_VLTL"])) <= 0.5 + 1e-9
        for name in GREEKS:
            assert re.fullmatch(r"-?\d+\.\d{4}", high[name]), (name, high[name])
            assert abs(float(high[name]) - float(low[name])) <= 0.005 + 1e-9
