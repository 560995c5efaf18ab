"""FeedSettings: the defaults, the validation of each bound, and the back-off delays."""

from __future__ import annotations

import itertools
import random

import pytest

from kisfeed.client.settings import FeedSettings, exponential_backoff
from kisfeed.exceptions import ConfigError
from kisfeed.protocol import DEFAULT_MAX_REGISTRATIONS


def test_the_defaults_are_the_references_recommendations():
    s = FeedSettings()
    assert s.max_registrations == DEFAULT_MAX_REGISTRATIONS == 41  # reference 3.1
    assert (s.queue_size, s.overflow, s.reply_overfill, s.on_malformed) == (100_000, "block", 10_000, "skip")
    assert (s.subscribe_interval, s.watchdog, s.stable_after, s.key_in_use_delay) == (0.05, 60.0, 60.0, 60.0)
    assert (s.reply_timeout, s.open_timeout, s.max_frame_size) == (30.0, 10.0, 2 * 1024 * 1024)
    assert (s.pong_frame, s.custtype) == (False, "P")
    assert s.backoff is exponential_backoff


@pytest.mark.parametrize(
    "override",
    [
        {"overflow": "drop-newest"},
        {"on_malformed": "ignore"},
        {"queue_size": 0},
        {"queue_size": -1},
        {"max_registrations": 0},
        {"max_frame_size": 1023},
        {"reply_overfill": -1},
        {"subscribe_interval": -0.1},
        {"watchdog": -1.0},
        {"reply_timeout": -1.0},
        {"open_timeout": -1.0},
        {"custtype": "X"},
    ],
)
def test_each_bad_value_is_a_config_error(override):
    with pytest.raises(ConfigError):
        FeedSettings(**override)


@pytest.mark.parametrize(
    "override",
    [
        {"queue_size": 1},
        {"max_registrations": 1},
        {"max_frame_size": 1024},
        {"reply_overfill": 0},
        {"subscribe_interval": 0.0, "watchdog": 0.0, "reply_timeout": 0.0, "open_timeout": 0.0},
        {"overflow": "drop-oldest", "on_malformed": "raise", "custtype": "B"},
    ],
)
def test_the_bounds_themselves_are_accepted(override):
    settings = FeedSettings(**override)
    assert all(getattr(settings, name) == value for name, value in override.items())


def test_backoff_doubles_up_to_the_maximum_within_the_jitter():
    random.seed(12)
    delays = list(itertools.islice(exponential_backoff(initial=1.0, maximum=8.0, jitter=0.25), 8))
    for delay, base in zip(delays, [1, 2, 4, 8, 8, 8, 8, 8], strict=True):
        assert base * 0.75 <= delay <= base * 1.25


def test_backoff_without_jitter_is_exact_and_never_ends():
    delays = exponential_backoff(initial=0.5, maximum=3.0, factor=3.0, jitter=0.0)
    assert list(itertools.islice(delays, 5)) == [0.5, 1.5, 3.0, 3.0, 3.0]
    assert next(delays) == 3.0
