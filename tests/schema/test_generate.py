"""``schema/trades.py`` is what ``python -m kisfeed.schema.generate`` writes from the layouts."""

from __future__ import annotations

from kisfeed.schema import generate
from kisfeed.schema.layouts import LAYOUTS
from kisfeed.schema.records import RECORD_TYPES


def test_the_checked_in_record_classes_are_the_generated_ones():
    # Fails after a layout change until `python -m kisfeed.schema.generate` is run.
    assert generate.TARGET.read_text(encoding="utf-8") == generate.render()


def test_each_record_class_has_its_layout_fields_in_wire_order_then_the_metadata():
    for tr_id, layout in LAYOUTS.items():
        cls = RECORD_TYPES[tr_id]
        assert cls.layout is layout
        assert cls.__struct_fields__ == (
            *(f.name for f in layout.fields),
            *("extra", "missing", "trading_date", "received_ns"),
        )
