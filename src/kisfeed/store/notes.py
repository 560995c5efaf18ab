"""The gap notes the recorder writes to the journal (their format: ``gaps``).

Apart from ``gaps`` so that the recording process makes them without importing pyarrow, which
only the converter needs (issue 13).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

__all__ = ["start_note", "end_note", "Key"]

Key = tuple[str, str]  # (tr_id, code)


def _text(note: dict[str, Any]) -> str:
    return json.dumps(note, ensure_ascii=False, separators=(",", ":"))


def start_note(session: int, start_ns: int, reason: str, keys: Iterable[Key]) -> str:
    """The ``gap-start`` note: ``keys`` are not received from ``start_ns`` on."""
    return _text(
        {
            "kisfeed": "gap-start",
            "session": session,
            "start": start_ns,
            "reason": reason,
            "keys": [list(k) for k in keys],
        }
    )


def end_note(session: int, key: Key, start_ns: int, end_ns: int, reason: str, resumed: int | None) -> str:
    """The ``gap-end`` note: the whole gap of one code (it needs no ``gap-start`` to be a row)."""
    return _text(
        {
            "kisfeed": "gap-end",
            "session": session,
            "tr_id": key[0],
            "code": key[1],
            "start": start_ns,
            "end": end_ns,
            "reason": reason,
            "resumed": resumed,
        }
    )
