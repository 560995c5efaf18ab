"""The KRX tick tables (reference 6): stock futures on the stock table since 2023-01-25, option
premiums by band."""

from __future__ import annotations

import math

import pytest

from kisfeed.sim.ticks import OPTION_TICKS, STOCK_GRID, Grid


@pytest.mark.parametrize(
    ("price", "tick"),
    [(1_999, 1), (2_000, 5), (19_990, 10), (49_950, 50), (50_000, 100), (166_300, 100), (199_900, 100),
     (200_000, 500), (499_500, 500), (500_000, 1_000)],
)  # fmt: skip
def test_stock_futures_use_the_stock_table(price: int, tick: int) -> None:
    # 셀트리온 at 166,300 and KB금융 at 104,600 move by 100 since 2023, not the old 500
    assert STOCK_GRID.tick_of(price) == tick and STOCK_GRID.on_grid(price)


@pytest.mark.parametrize(
    ("premium", "tick"),
    [
        (990, 10),
        (1_000, 20),
        (1_980, 20),
        (2_000, 50),
        (4_950, 50),
        (5_000, 100),
        (9_900, 100),
        (10_000, 200),
    ],
)
def test_option_premiums_tick_by_band(premium: int, tick: int) -> None:
    grid = Grid(OPTION_TICKS)
    assert grid.tick_of(premium) == tick and grid.on_grid(premium)
    assert not grid.on_grid(premium + tick // 2)


def test_steps_cross_bands_on_the_grid() -> None:
    grid = Grid(OPTION_TICKS)
    assert grid.up(980, 3) == 1_020  # 990, 1,000, then 20-won steps
    assert grid.down(1_020, 3) == 980
    assert grid.down(10, 5) == 0
    assert [grid.round(x) for x in (3_990.0, 2_540.0, 1_455.0, 6_610.0)] == [4_000, 2_550, 1_460, 6_600]
    assert grid.floor(1_999.0) == 1_980 and grid.ceil(1_981.0) == 2_000


def test_a_table_that_is_not_a_grid_is_refused() -> None:
    with pytest.raises(ValueError, match="multiple"):
        Grid(((1_005, 10), (math.inf, 20)))
    with pytest.raises(ValueError, match="last row"):
        Grid(((1_000, 10),))


def test_a_simulator_with_an_option_table_that_is_not_a_grid_is_refused_at_its_settings() -> None:
    from kisfeed.sim import SimConfig

    with pytest.raises(ValueError, match="multiple"):
        SimConfig(option_ticks=((1_005, 10), (math.inf, 20)))
    assert SimConfig(option_ticks=((10_000, 10), (math.inf, 50))).option_ticks[0] == (10_000, 10)
