"""GapTracker with plain events: a lost session opens a gap per registration it held, from its
last frame; each gap ends when its code is acknowledged on a new session, or when the recording
stops; the outage is reported once, when it is over. The journaled notes are gaps' format."""

from __future__ import annotations

from kisfeed.client import events as ev
from kisfeed.store.gaps import parse_note
from kisfeed.store.outages import GapTracker, Outage

F = "H0ZFCNT0"
A, B = (F, "A11612"), (F, "A50612")


def tracker() -> tuple[GapTracker, list[dict], list[Outage]]:
    notes: list[dict] = []
    outages: list[Outage] = []
    gaps = GapTracker(lambda text, ns: notes.append(parse_note(text)), outages.append)
    return gaps, notes, outages


def test_a_lost_session_opens_a_gap_per_code_and_each_ends_at_its_ack():
    gaps, notes, outages = tracker()
    gaps.on_event(ev.Connected(session=1, connection=0))
    gaps.on_event(ev.Subscribed(*A, session=1))
    gaps.on_event(ev.Subscribed(*B, session=1))
    gaps.on_event(ev.Disconnected(1, "closed by the server", last_frame_ns=5))
    assert [n["kisfeed"] for n in notes] == ["gap-start"] and notes[0]["keys"] == [list(A), list(B)]
    gaps.on_event(ev.Connected(session=2, connection=0))
    gaps.on_event(ev.Subscribed(*A, session=2))
    assert outages == []  # B is not back yet
    gaps.on_event(ev.Subscribed(*B, session=2))
    [outage] = outages
    assert outage.complete and outage.resumed == {2} and set(outage.ended) == {A, B}
    assert [(g.code, g.session_id) for g in gaps.gaps] == [("A11612", 1), ("A50612", 1)]
    assert all(g.start_ns >= 5 and g.end_ns >= g.start_ns for g in gaps.gaps)
    assert [n["kisfeed"] for n in notes] == ["gap-start", "gap-end", "gap-end"]
    assert [n["resumed"] for n in notes[1:]] == [2, 2]


def test_a_gap_still_open_when_the_recording_stops_ends_there_and_is_reported():
    gaps, notes, outages = tracker()
    gaps.on_event(ev.Connected(session=1, connection=0))
    gaps.on_event(ev.Subscribed(*A, session=1))
    gaps.on_event(ev.Disconnected(1, "network"))
    gaps.close()
    [gap] = gaps.gaps
    assert gap.reason.startswith("network") and "stopped" in gap.reason
    assert notes[-1]["kisfeed"] == "gap-end" and notes[-1]["resumed"] is None
    [outage] = outages
    assert outage.stopped_ns is not None
    assert gaps.summary().startswith("reconnects 1, gaps 1 (")


def test_an_unsubscribed_code_leaves_no_gap():
    gaps, notes, _ = tracker()
    gaps.on_event(ev.Connected(session=1, connection=0))
    gaps.on_event(ev.Subscribed(*A, session=1))
    gaps.on_event(ev.Unsubscribed(*A, session=1))
    gaps.on_event(ev.Disconnected(1, "network"))
    gaps.close()
    assert notes == [] and gaps.gaps == []
    assert gaps.summary() == "reconnects 1, gaps 0"
