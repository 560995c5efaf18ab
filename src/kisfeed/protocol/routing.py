"""Sans-I/O routing of a feed's subscriptions over its sessions (one session per app key).

A ``Router`` decides which session holds each subscription ``(tr_id, tr_key)``, at most
``limit`` per session (reference 3.1: 41 per app key), moves a lost session's subscriptions to
live sessions with room, and tracks which subscribe/unsubscribe requests await the server's
reply. It takes and returns plain values: sessions are numbered ``0 .. sessions - 1`` (the app
keys in the order given), and the caller sends, reconnects and keeps one future per pending
request.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Literal

from ..exceptions import SubscriptionLimitError
from .session import DEFAULT_MAX_REGISTRATIONS

__all__ = ["Router", "Key", "Request", "Placement", "Rerouted"]

Key = tuple[str, str]  # (tr_id, tr_key)
Request = tuple[Literal["subscribe", "unsubscribe"], Key]  # a request that awaits its reply


@dataclass(frozen=True, slots=True)
class Placement:
    """``key`` is (now) held by session ``session``: send its subscribe there."""

    session: int
    key: Key


@dataclass(frozen=True, slots=True)
class Rerouted:
    """What losing a session changed: subscriptions moved to other sessions (send their
    subscribes there), and pending unsubscribes answered by the loss (a lost session holds
    nothing)."""

    moved: list[Placement]
    released: list[Request]


class Router:
    def __init__(self, sessions: int, limit: int = DEFAULT_MAX_REGISTRATIONS) -> None:
        if sessions < 1 or limit < 1:
            raise ValueError("a router needs at least one session and a limit of at least 1")
        self.sessions, self.limit = sessions, limit
        self._owner: dict[Key, int] = {}
        self._held: list[set[Key]] = [set() for _ in range(sessions)]
        self._open: set[Request] = set()  # sent or about to be, reply not yet received
        # how many callers await each request: two subscribes of one code share one reply, and
        # the first one giving up must not take it from the second
        self._awaiting: Counter[Request] = Counter()

    def __repr__(self) -> str:
        return (
            f"<Router sessions={[len(h) for h in self._held]} limit={self.limit} pending={len(self._open)}>"
        )

    # --- placement -----------------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        return self.sessions * self.limit

    @property
    def subscriptions(self) -> set[Key]:
        return set(self._owner)

    def owner(self, key: Key) -> int | None:
        """The session that holds ``key``, or None if it is not subscribed."""
        return self._owner.get(key)

    def assigned(self, session: int) -> list[Key]:
        """The subscriptions ``session`` should hold, sorted (its restore order on reconnect)."""
        return sorted(self._held[session])

    def place(self, keys: Iterable[Key], live: Collection[int]) -> list[Placement]:
        """Place the keys not yet placed, each on the live session holding the fewest (lowest
        number on a tie), or, when the live ones are full, on the emptiest session of all: it
        gets them when it connects. Raises ``SubscriptionLimitError`` before placing anything if
        all sessions together cannot hold them."""
        new = [k for k in dict.fromkeys(keys) if k not in self._owner]
        if len(self._owner) + len(new) > self.capacity:
            raise SubscriptionLimitError(new[-1][0], new[-1][1], self.capacity)
        placed = []
        for key in new:
            session = min(range(self.sessions), key=lambda s: (s not in live, len(self._held[s]), s))
            if len(self._held[session]) >= self.limit:  # the live ones are full
                session = min(range(self.sessions), key=lambda s: (len(self._held[s]), s))
            self._assign(key, session)
            placed.append(Placement(session, key))
        return placed

    def release(self, keys: Iterable[Key]) -> list[Placement]:
        """Unplace the keys that are placed: send their unsubscribes to the sessions returned.
        Keys not subscribed are ignored."""
        released = []
        for key in dict.fromkeys(keys):
            session = self.drop(key)
            if session is not None:
                released.append(Placement(session, key))
        return released

    def drop(self, key: Key) -> int | None:
        """``key`` is no longer wanted (the server refused it): the session that held it."""
        session = self._owner.pop(key, None)
        if session is not None:
            self._held[session].discard(key)
        return session

    def lose(self, session: int, live: Collection[int]) -> Rerouted:
        """``session`` was lost. Its subscriptions move, in sorted order, to the other live
        sessions with room (the emptiest first), so that each lives on exactly one session and
        nothing is received twice (issue 4, part 4); those without room stay and are restored
        when it reconnects. Every pending unsubscribe of a key no longer placed is answered."""
        released = sorted(r for r in self._open if r[0] == "unsubscribe" and r[1] not in self._owner)
        self._open.difference_update(released)
        moved = []
        for key in sorted(self._held[session]):
            room = [s for s in live if s != session and len(self._held[s]) < self.limit]
            if not room:
                break
            target = min(room, key=lambda s: (len(self._held[s]), s))
            self._held[session].discard(key)
            self._assign(key, target)
            moved.append(Placement(target, key))
        return Rerouted(moved, released)

    def _assign(self, key: Key, session: int) -> None:
        self._owner[key] = session
        self._held[session].add(key)

    # --- pending replies -----------------------------------------------------------------------

    @property
    def awaiting_reply(self) -> bool:
        """Whether any request still awaits its reply (and a caller awaits it)."""
        return bool(self._open)

    @property
    def pending(self) -> list[Request]:
        return sorted(self._open)

    def expect(self, request: Request) -> bool:
        """One more caller awaits ``request``'s reply. True if the request is not pending yet
        (the caller makes its future); False if the caller shares the pending one."""
        self._awaiting[request] += 1
        if request in self._open:
            return False
        self._open.add(request)
        return True

    def answer(self, request: Request) -> bool:
        """The reply to ``request`` came (or the request can have none): True if it was pending,
        so its future is to be resolved; False for a reply nobody awaits."""
        if request not in self._open:
            return False
        self._open.discard(request)
        return True

    def forget(self, request: Request) -> bool:
        """A caller stops awaiting ``request`` (answered, timed out, cancelled). True when no
        caller is left, so its future is to be dropped: a request left pending would keep the
        record queue overfilled for good."""
        self._awaiting[request] -= 1
        if self._awaiting[request] > 0:
            return False
        del self._awaiting[request]
        self._open.discard(request)
        return True

    def clear(self) -> list[Request]:
        """Every pending request, now no longer pending (the feed ended)."""
        pending, self._open = sorted(self._open), set()
        return pending
