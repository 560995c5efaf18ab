"""Recording and storage: the journal of raw frames, the Parquet dataset derived from it, DuckDB
queries over it and replay of it (issue 5).

::

    <root>/journal/<YYYY-MM-DD>/<segment>.kfj[.zst]      every frame received (journal.py)
    <root>/<tr_id>/date=<YYYY-MM-DD>/<range>.parquet      typed records per TR (dataset.py)

The journal is written first, from the feed's ``on_frame`` hook; the dataset is derived from it
(converter.py), so a crash can delay the dataset but not corrupt or duplicate it.
"""

from __future__ import annotations

from .columns import table_records
from .converter import Converter, ConvertReport, rebuild
from .dataset import TABLES, Claim, read_table, schema_for
from .journal import BadLine, JournalEntry, JournalStats, Segment, read_journal, segments
from .query import connect as duckdb_connect
from .query import query
from .recorder import Recorder, RecorderStats
from .replay import ReplayStats, data_frames, replay, replay_records
from .writer import JournalWriter

__all__ = [
    "JournalWriter",
    "JournalEntry",
    "JournalStats",
    "BadLine",
    "Segment",
    "read_journal",
    "segments",
    "TABLES",
    "Claim",
    "schema_for",
    "read_table",
    "table_records",
    "Converter",
    "ConvertReport",
    "rebuild",
    "Recorder",
    "RecorderStats",
    "query",
    "duckdb_connect",
    "replay",
    "replay_records",
    "data_frames",
    "ReplayStats",
]
