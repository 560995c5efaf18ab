"""Field profiles: which fields the simulator leaves empty the way the live feed is observed to.

The two official example frames (KIS portal, 2024-05; quoted in reference 4.4 and issue 14, gap
5) carry a value in most fields, but a few are empty (``000000`` or zero) although the market
had a value for them: the open/high/low times, the futures' near/far-month prices (while
``SPEAD_PRC`` still carries the spread, −500.00), the futures' level-1 and total book quantities
(while ``ASKP1``/``BIDP1`` are filled) and the option's ``PRMM_VAL``. Checked field by field
against the examples, nothing else the simulator fills is empty there: the option example's
``INVL_VAL`` 0.00 and ``GAMA``/``VEGA`` 0.00 fit its own premium and delta (an out-of-the-money
premium that is all time value; gamma per won at 2 decimals, ``SimConfig.greek_decimals``),
and ``DYNM_MXPR``/``DYNM_LLAM`` are 0 in the simulator too (``SimConfig.dynamic_limit_band``).

``OBSERVED`` is the one table of that decision: KIS column code -> the example's text, per TR.
``blanks_for`` turns it into the English field names the writers of ``contracts`` use;
each ``Contract`` writes its trades' values with those texts laid over them (``Contract.blanks``),
so the market model computes every value either way and only the wire text differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from ..schema.layouts import FUTURES_TRADE, OPTION_TRADE, layout_for

__all__ = ["Profile", "OBSERVED", "blanks_for"]

Profile = Literal["observed", "filled"]

OBSERVED: dict[str, dict[str, str]] = {
    FUTURES_TRADE.tr_id: {
        "OPRC_HOUR": "000000",
        "HGPR_HOUR": "000000",
        "LWPR_HOUR": "000000",
        "NMSC_FCTN_STPL_PRC": "0.00",
        "FMSC_FCTN_STPL_PRC": "0.00",
        "ASKP_RSQN1": "0",
        "BIDP_RSQN1": "0",
        "TOTAL_ASKP_RSQN": "0",
        "TOTAL_BIDP_RSQN": "0",
    },
    OPTION_TRADE.tr_id: {
        "OPRC_HOUR": "000000",
        "HGPR_HOUR": "000000",
        "LWPR_HOUR": "000000",
        "PRMM_VAL": "0.00",
    },
}

_BY_NAME: dict[str, dict[str, str]] = {
    tr_id: {f.name: texts[f.kis] for f in layout_for(tr_id).fields if f.kis in texts}
    for tr_id, texts in OBSERVED.items()
}
_NONE: Mapping[str, str] = {}


def blanks_for(tr_id: str, profile: Profile) -> Mapping[str, str]:
    """English field name -> wire text laid over a ``tr_id`` record's values under ``profile``
    (nothing under ``filled``, nor for a TR the table does not name)."""
    return _BY_NAME.get(tr_id, _NONE) if profile == "observed" else _NONE
