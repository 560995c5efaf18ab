"""The sans-I/O router: placement (41 per app key), overflow, a lost session's moves, replies."""

from __future__ import annotations

import pytest

from kisfeed.exceptions import SubscriptionLimitError
from kisfeed.protocol import DEFAULT_MAX_REGISTRATIONS
from kisfeed.protocol.routing import Placement, Rerouted, Router

F, O = "H0ZFCNT0", "H0ZOCNT0"


def keys(n: int, tr_id: str = F, start: int = 0) -> list[tuple[str, str]]:
    return [(tr_id, f"A{i:03d}12") for i in range(start, start + n)]


def test_the_default_limit_is_41_per_session():
    router = Router(2)
    assert router.limit == DEFAULT_MAX_REGISTRATIONS == 41
    assert router.capacity == 82


def test_keys_go_to_the_live_session_holding_the_fewest_lowest_number_first():
    router = Router(3, limit=2)
    assert router.place(keys(3), live={0, 1, 2}) == [
        Placement(0, (F, "A00012")),
        Placement(1, (F, "A00112")),
        Placement(2, (F, "A00212")),
    ]
    assert router.place(keys(1, O), live={1, 2}) == [Placement(1, (O, "A00012"))]  # 0 is down
    assert router.owner((O, "A00012")) == 1
    assert router.assigned(1) == [(F, "A00112"), (O, "A00012")]
    assert router.subscriptions == set(keys(3)) | {(O, "A00012")}


def test_when_the_live_sessions_are_full_keys_wait_on_the_emptiest_session():
    router = Router(2, limit=2)
    router.place(keys(2), live={0})
    assert router.place(keys(1, start=2), live={0}) == [Placement(1, (F, "A00212"))]
    assert router.place(keys(1, start=3), live=set()) == [Placement(1, (F, "A00312"))]


def test_a_key_already_placed_is_not_placed_again():
    router = Router(2)
    router.place(keys(1), live={0, 1})
    assert router.place(keys(1) + keys(1), live={0, 1}) == []
    assert router.assigned(0) == keys(1) and router.assigned(1) == []


def test_the_41_bound_holds_and_overflow_is_refused_before_anything_is_placed():
    router = Router(2)
    placed = router.place(keys(82), live={0, 1})
    assert [len(router.assigned(s)) for s in (0, 1)] == [41, 41]
    assert {p.session for p in placed} == {0, 1}
    with pytest.raises(SubscriptionLimitError) as info:
        router.place(keys(2, O), live={0, 1})
    assert (info.value.tr_id, info.value.tr_key, info.value.limit) == (O, "A00112", 82)
    assert router.owner((O, "A00012")) is None  # nothing of the refused call was placed
    assert router.place(keys(1), live={0, 1}) == []  # already held: no room needed


def test_release_returns_where_each_key_was_and_ignores_unknown_keys():
    router = Router(2, limit=1)
    router.place(keys(2), live={0, 1})
    assert router.release([(F, "A00112"), (F, "B99999"), (F, "A00112")]) == [Placement(1, (F, "A00112"))]
    assert router.owner((F, "A00112")) is None and router.assigned(1) == []
    assert router.release([(F, "A00112")]) == []
    assert router.drop((F, "A00012")) == 0 and router.drop((F, "A00012")) is None


def test_a_lost_session_moves_its_keys_to_live_sessions_with_room():
    router = Router(3, limit=3)
    router.place(keys(3), live={0})  # all on 0: the others are not up yet
    router.place(keys(2, O), live={1})
    assert router.assigned(0) == keys(3)
    rerouted = router.lose(0, live={1, 2})
    # the emptiest first, the lower number on a tie: 2 (0 held), 2 (1), then 1 and 2 tie at 2
    assert rerouted == Rerouted(
        moved=[Placement(2, (F, "A00012")), Placement(2, (F, "A00112")), Placement(1, (F, "A00212"))],
        released=[],
    )
    assert router.assigned(0) == []
    assert router.owner((F, "A00212")) == 1 and len(router.assigned(1)) == 3


def test_keys_without_room_elsewhere_stay_on_the_lost_session_for_its_reconnect():
    router = Router(2, limit=2)
    router.place(keys(2), live={0})
    router.place(keys(1, O), live={1})
    rerouted = router.lose(0, live={1})
    assert rerouted.moved == [Placement(1, (F, "A00012"))]
    assert router.assigned(0) == [(F, "A00112")]  # restored when session 0 reconnects
    assert router.lose(1, live=set()).moved == []  # nowhere to go: everything stays
    assert router.lose(1, live={1}).moved == []  # the lost session itself is no target


def test_pending_requests_are_shared_and_answered_once():
    router = Router(1)
    request = ("subscribe", (F, "A00012"))
    assert not router.awaiting_reply
    assert router.expect(request) is True  # the first caller makes the future
    assert router.expect(request) is False  # the second shares it
    assert router.awaiting_reply and router.pending == [request]
    assert router.answer(request) is True
    assert router.answer(request) is False  # a second reply reaches nobody
    assert not router.awaiting_reply
    assert router.forget(request) is False  # one caller still holds the (answered) request
    assert router.forget(request) is True


def test_a_reply_two_callers_await_survives_the_first_giving_up():
    router = Router(1)
    request = ("subscribe", (F, "A00012"))
    router.expect(request), router.expect(request)
    assert router.forget(request) is False  # the first timed out: the request stays pending
    assert router.answer(request) is True  # so the reply reaches the second
    assert router.forget(request) is True and not router.awaiting_reply


def test_a_request_nobody_awaits_any_more_is_no_longer_pending():
    router = Router(1)
    request = ("unsubscribe", (F, "A00012"))
    router.expect(request)
    assert router.forget(request) is True
    assert not router.awaiting_reply and router.answer(request) is False
    assert router.expect(request) is True  # asked again: a new future


def test_a_reply_for_a_request_not_pending_is_ignored():
    router = Router(1)
    assert router.answer(("subscribe", (F, "A00012"))) is False
    assert router.answer(("unsubscribe", (F, "A00012"))) is False


def test_losing_a_session_answers_the_pending_unsubscribes_of_released_keys():
    router = Router(2)
    router.place(keys(2), live={0, 1})
    router.release(keys(1))
    gone, kept = ("unsubscribe", keys(1)[0]), ("subscribe", keys(1, start=1)[0])
    router.expect(gone), router.expect(kept)
    assert router.lose(0, live={1}).released == [gone]
    assert router.pending == [kept] and router.answer(gone) is False


def test_an_unsubscribe_of_a_key_placed_again_is_not_answered_by_a_loss():
    router = Router(1)
    router.place(keys(1), live={0})
    router.release(keys(1))
    request = ("unsubscribe", keys(1)[0])
    router.expect(request)
    router.place(keys(1), live={0})  # subscribed again before the reply came
    assert router.lose(0, live=set()).released == []
    assert router.pending == [request]


def test_clear_empties_the_pending_requests():
    router = Router(1)
    router.expect(("subscribe", (F, "A00012")))
    router.expect(("unsubscribe", (O, "A00012")))
    assert router.clear() == [("subscribe", (F, "A00012")), ("unsubscribe", (O, "A00012"))]
    assert not router.awaiting_reply


def test_a_router_needs_a_session_and_a_limit():
    with pytest.raises(ValueError):
        Router(0)
    with pytest.raises(ValueError):
        Router(1, limit=0)
