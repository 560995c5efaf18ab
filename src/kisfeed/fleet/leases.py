"""Which wanted registrations a feeder claims, decided without NATS (issue 17, item 1).

A feeder sees, each round, the wanted keys (``kisfeed-wanted``), the live leases (key → the
feeder holding it, ``kisfeed-leases``) and the live feeders (``kisfeed-feeders``). It claims
only what is UNSERVED: a joining feeder takes a share of it, never a served code (no forced
rebalancing: a hand-over costs a gap-free overlap at best, a gap at worst, for no gain). Feeders
that start together must spread, so each claims at most its share, ``ceil(unserved / feeders
with room)``, in a shuffled order (two feeders racing for the same keys would lose half their
``create`` calls), and never more than its capacity: one (TR, code) is one of the 41
registrations of an app key's session (reference 3.1). The compare-and-set ``create`` on the
server decides between feeders that pick the same key anyway.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Mapping

__all__ = ["plan_claims", "plan_releases"]


def plan_claims(
    wanted: Collection[str],
    leases: Mapping[str, str],
    *,
    held: int,
    capacity: int,
    feeders_with_room: int,
    avoid: Collection[str] = (),
    rng: random.Random | None = None,
) -> list[str]:
    """The keys to try to claim this round: unserved wanted keys (not in ``leases``, not in
    ``avoid``: keys this feeder could not subscribe lately), at most ``capacity - held`` and at
    most this feeder's share of them among ``feeders_with_room`` (itself included; at least 1)."""
    room = capacity - held
    if room <= 0:
        return []
    unserved = sorted(k for k in wanted if k not in leases and k not in avoid)
    if not unserved:
        return []
    share = math.ceil(len(unserved) / max(1, feeders_with_room))
    (rng or random).shuffle(unserved)
    return unserved[: min(room, share)]


def plan_releases(wanted: Collection[str], held: Collection[str]) -> list[str]:
    """The keys this feeder holds that are no longer wanted (``fleet remove``): unsubscribed and
    their leases deleted."""
    return sorted(k for k in held if k not in wanted)
