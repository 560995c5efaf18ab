"""Recording and storage: the journal of raw frames, the Parquet dataset derived from it, DuckDB
queries over it and replay of it (issue 5).

::

    <root>/journal/<YYYY-MM-DD>/<segment>.kfj[.zst]      every frame received (journal.py)
    <root>/<tr_id>/date=<YYYY-MM-DD>/<range>.parquet      typed records per TR (dataset.py)
    <root>/gaps/date=<YYYY-MM-DD>/<segment>.parquet      where codes were not received (gaps.py)

The journal is written first, from the feed's ``on_frame`` hook; the dataset is derived from it
(converter.py), so a crash can delay the dataset but not corrupt or duplicate it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Each name is loaded from its module on first use, as ``kisfeed.connect`` is: the converter child
# (``python -m kisfeed.store``) needs pyarrow but not DuckDB, and reading a journal needs neither.
_MODULES = {
    "JournalWriter": "writer",
    "JournalEntry": "journal",
    "JournalStats": "journal",
    "BadLine": "journal",
    "Segment": "journal",
    "read_journal": "journal",
    "segments": "journal",
    "TABLES": "dataset",
    "Claim": "dataset",
    "schema_for": "dataset",
    "read_table": "dataset",
    "table_records": "records",
    "Converter": "converter",
    "ConvertReport": "report",
    "rebuild": "converter",
    "Recorder": "recorder",
    "RecorderStats": "recorder",
    "query": "views",
    "duckdb_connect": "views",
    "replay": "playback",
    "replay_records": "playback",
    "data_frames": "playback",
    "ReplayStats": "playback",
}
_RENAMED = {"duckdb_connect": "connect"}

__all__ = list(_MODULES)

if TYPE_CHECKING:  # the same names for type checkers, which do not run __getattr__ ("as": exported)
    from .converter import Converter as Converter
    from .converter import rebuild as rebuild
    from .dataset import TABLES as TABLES
    from .dataset import Claim as Claim
    from .dataset import read_table as read_table
    from .dataset import schema_for as schema_for
    from .journal import BadLine as BadLine
    from .journal import JournalEntry as JournalEntry
    from .journal import JournalStats as JournalStats
    from .journal import Segment as Segment
    from .journal import read_journal as read_journal
    from .journal import segments as segments
    from .playback import ReplayStats as ReplayStats
    from .playback import data_frames as data_frames
    from .playback import replay as replay
    from .playback import replay_records as replay_records
    from .recorder import Recorder as Recorder
    from .recorder import RecorderStats as RecorderStats
    from .records import table_records as table_records
    from .report import ConvertReport as ConvertReport
    from .views import connect as _connect
    from .views import query as query
    from .writer import JournalWriter as JournalWriter

    duckdb_connect = _connect


def __getattr__(name: str) -> object:
    if name not in _MODULES:
        raise AttributeError(f"module 'kisfeed.store' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_MODULES[name]}", __name__), _RENAMED.get(name, name))
    globals()[name] = value
    return value
