"""What travels over NATS: the stream, its subjects, one message per record, and gap events.

Sans-I/O (no nats import), so the feeder, every consumer and the tests agree on one format.

Records: subject ``kis.<TR>.<code>`` (issue 17), payload the record's fields exactly as KIS
sent them, joined by ``^`` (one record of the frame's body, reference 2.4), UTF-8. One message
per record, not per frame: a frame's grouping depends on the connection that received it, so
two feeders serving one code during a hand-over would publish the same trades grouped
differently, and only a per-record id lets JetStream drop the second copy.

Headers:

``Nats-Msg-Id``          JetStream's de-duplication id (its duplicate window, ``FleetSettings``).
                         Trades: ``<TR>.<KST date>.<code>.<cumulative volume>``; ``ACML_VOL``
                         grows with every trade of a code and restarts each trading day, so the
                         three name one trade whichever feeder received it. Books and expected
                         prices carry no such counter: ``<TR>.<date>.<code>.<digest>`` of the
                         update and the one before it of the code (``FrameMessages``), so that
                         the same sequence received by two feeders is one, while a book that
                         returns to an earlier state (an order placed and cancelled within the
                         second its text names) is a new message, not a copy to drop. A feeder's
                         first update of a code has no update before it: during a hand-over it
                         can be stored twice (a state repeated, never one lost).
``Kisfeed-Received-Ns``  the feeder's receive time, integer ns since the epoch (the journal's
                         ``received_ns`` when a recorder writes the record)
``Kisfeed-Feeder``       the id of the feeder that published it

Gap events: subject ``kisfeed.gap.<TR>.<code>``, in the same stream so that a recorder meets them
in order with the records, payload the ``gap-end`` note's JSON (``store.notes.end_note``): a
wanted code that no feeder served from ``start`` to ``end``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ..exceptions import MalformedMessageError
from ..schema import LAYOUTS, kst_day
from ..store.notes import end_note

__all__ = [
    "STREAM",
    "RECORD_SUBJECTS",
    "GAP_SUBJECTS",
    "MSG_ID",
    "RECEIVED_NS",
    "FEEDER",
    "subject",
    "gap_subject",
    "message_id",
    "record_message",
    "FrameMessages",
    "gap_message",
    "Message",
    "RecordMessage",
    "GapEvent",
    "parse_record",
    "parse_gap",
    "frame_text",
]

STREAM = "KISFEED"
RECORD_SUBJECTS = "kis.>"
GAP_SUBJECTS = "kisfeed.gap.>"
MSG_ID = "Nats-Msg-Id"
RECEIVED_NS = "Kisfeed-Received-Ns"
FEEDER = "Kisfeed-Feeder"

#: The index of ACML_VOL (cumulative volume) in each trade TR's body: the id of a trade.
_VOLUME_AT = {
    tr: layout.by_name["volume"].index
    for tr, layout in LAYOUTS.items()
    if layout.category == "trade" and "volume" in layout.by_name
}


@dataclass(frozen=True, slots=True)
class Message:
    """What to publish: subject, payload, headers."""

    subject: str
    payload: bytes
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class RecordMessage:
    """A record message, parsed: its TR, its fields as KIS sent them, and where it came from."""

    tr_id: str
    fields: list[str]
    received_ns: int
    feeder: str
    msg_id: str


@dataclass(frozen=True, slots=True)
class GapEvent:
    """A wanted (TR, code) that no feeder served from ``start_ns`` to ``end_ns``."""

    tr_id: str
    code: str
    start_ns: int
    end_ns: int
    reason: str

    @property
    def note(self) -> str:
        """The journal's ``gap-end`` note for it (session 0: the recorder's own line)."""
        return end_note(0, (self.tr_id, self.code), self.start_ns, self.end_ns, self.reason, None)


def subject(tr_id: str, code: str) -> str:
    return f"kis.{tr_id}.{code}"


def gap_subject(tr_id: str, code: str) -> str:
    return f"kisfeed.gap.{tr_id}.{code}"


def message_id(tr_id: str, fields: list[str], received_ns: int, previous: str = "") -> str:
    """The de-duplication id of one record (see the module docstring); ``previous``: the text of
    the code's update before it on this TR (books and expected prices)."""
    day = kst_day(received_ns).strftime("%Y%m%d")
    at = _VOLUME_AT.get(tr_id)
    if at is not None:
        return f"{tr_id}.{day}.{fields[0]}.{fields[at]}"
    chained = f"{previous}\n{'^'.join(fields)}"  # no field holds a LF: the two stay apart
    digest = hashlib.blake2b(chained.encode(), digest_size=12).hexdigest()
    return f"{tr_id}.{day}.{fields[0]}.{digest}"


def record_message(
    tr_id: str, fields: list[str], received_ns: int, feeder: str, previous: str = ""
) -> Message:
    """The message of one record's ``fields`` (its slice of a frame's body)."""
    return Message(
        subject(tr_id, fields[0]),
        "^".join(fields).encode(),
        {
            MSG_ID: message_id(tr_id, fields, received_ns, previous),
            RECEIVED_NS: str(received_ns),
            FEEDER: feeder,
        },
    )


class FrameMessages:
    """A feeder's data frames as messages, one per record, each book and expected price chained
    to the code's update before it (``message_id``). Sans-I/O: the feeder calls it per frame."""

    def __init__(self, feeder: str) -> None:
        self.feeder = feeder
        self._previous: dict[tuple[str, str], str] = {}  # (TR, code) -> its last update's text

    def __call__(self, tr_id: str, count: int, fields: list[str], received_ns: int) -> list[Message] | None:
        """The messages of a frame of ``count`` records of ``tr_id`` (its body split on ``^``),
        or None if the fields do not divide into records of a width the consumers take
        (``parse_record``, as the client decodes): H0ZOANC0 comes with 7 of its 8 fields, and
        KIS may append fields past a layout."""
        layout = LAYOUTS[tr_id]
        width = len(fields) // count
        if width * count != len(fields) or not layout.required <= width <= 2 * layout.width:
            return None
        chained = tr_id not in _VOLUME_AT
        out = []
        for at in range(0, len(fields), width):
            record = fields[at : at + width]
            previous = ""
            if chained:
                key = (tr_id, record[0])
                previous = self._previous.get(key, "")
                self._previous[key] = "^".join(record)
            out.append(record_message(tr_id, record, received_ns, self.feeder, previous))
        return out


def gap_message(event: GapEvent) -> Message:
    return Message(
        gap_subject(event.tr_id, event.code),
        event.note.encode(),
        {MSG_ID: f"gap.{event.tr_id}.{event.code}.{event.start_ns}"},
    )


def parse_record(subject_: str, payload: bytes, headers: dict[str, str] | None) -> RecordMessage:
    """A record message back; ``MalformedMessageError`` (one line) for anything else on ``kis.>``."""
    parts = subject_.split(".")
    if len(parts) != 3 or parts[0] != "kis" or parts[1] not in LAYOUTS:
        raise MalformedMessageError(f"{subject_!r}: not a kis.<TR>.<code> subject of a TR kisfeed knows")
    tr_id, code = parts[1], parts[2]
    try:
        text = payload.decode()
    except UnicodeDecodeError:
        raise MalformedMessageError(f"{subject_}: the payload is not UTF-8") from None
    fields = text.split("^")
    # As the client takes a frame's records (RecordCodec.decode_fast): the layout's required
    # fields at least (H0ZOANC0 comes with 7 of its 8), and up to twice its width (fields KIS
    # appends stay on the record as ``extra``), or KIS's next appended field would make every
    # consumer skip a whole TR.
    layout = LAYOUTS[tr_id]
    if not layout.required <= len(fields) <= 2 * layout.width or fields[0] != code:
        raise MalformedMessageError(
            f"{subject_}: {len(fields)} fields starting {fields[0][:12]!r}, expected "
            f"{layout.required} to {2 * layout.width} starting with the subject's code"
        )
    headers = headers or {}
    try:
        received_ns = int(headers.get(RECEIVED_NS, ""))
    except ValueError:
        raise MalformedMessageError(f"{subject_}: no {RECEIVED_NS} header of integer nanoseconds") from None
    msg_id = headers.get(MSG_ID, "")
    if not msg_id.startswith(f"{tr_id}."):  # not recomputed: a consumer's per-record budget
        raise MalformedMessageError(f"{subject_}: no {MSG_ID} header of this TR")
    return RecordMessage(tr_id, fields, received_ns, headers.get(FEEDER, ""), msg_id)


def parse_gap(subject_: str, payload: bytes) -> GapEvent:
    """A gap event back; ``MalformedMessageError`` for anything else on ``kisfeed.gap.>``."""
    try:
        note: dict[str, Any] = json.loads(payload)
        event = GapEvent(
            note["tr_id"], note["code"], int(note["start"]), int(note["end"]), str(note["reason"])
        )
    except (ValueError, KeyError, TypeError):
        raise MalformedMessageError(f"{subject_}: not a gap event") from None
    if note.get("kisfeed") != "gap-end" or subject_ != gap_subject(event.tr_id, event.code):
        raise MalformedMessageError(f"{subject_}: not a gap event")
    return event


def frame_text(tr_id: str, fields: list[str]) -> str:
    """The one-record frame KIS would have sent for ``fields`` (reference 2.4): what a recorder
    fed from the stream journals, so that the journal and the converter need nothing new."""
    return f"0|{tr_id}|001|{'^'.join(fields)}"
