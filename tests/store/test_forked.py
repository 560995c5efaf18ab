"""A function run in a forked child: its JSON result, its failure or death named; a work queue
whose items each go to one process."""

from __future__ import annotations

import functools
import operator
import os
import signal

import pytest

from kisfeed.exceptions import StoreError
from kisfeed.store.forked import Forked, WorkQueue


def test_a_child_that_fails_or_dies_is_a_named_error():
    assert Forked(lambda: {"rows": 3}, "the test child").result() == {"rows": 3}
    with pytest.raises(StoreError, match="the test child failed: disk full"):
        Forked(lambda: (_ for _ in ()).throw(OSError("disk full")), "the test child").result()
    with pytest.raises(StoreError, match="the test child died: SIGKILL"):
        Forked(lambda: os.kill(os.getpid(), signal.SIGKILL), "the test child").result()


def test_each_part_is_taken_by_one_process_only():
    def take_all(queue):
        taken = []
        while (i := queue.take()) is not None:
            taken.append(i)
        return taken

    with WorkQueue(200) as queue:
        children = [Forked(lambda: take_all(queue), "a taker") for _ in range(3)]
        mine = take_all(queue)
        theirs = [child.result() for child in children]
    assert sorted(mine + functools.reduce(operator.iadd, theirs, [])) == list(range(200))
    assert all(t == sorted(t) for t in theirs)  # in order within each process


def test_the_result_comes_back_as_json_gives_it():
    # the converter's part results rely on it (keys are strings, tuples come back as lists)
    assert Forked(lambda: {"1": (2, 3), "stop": None}, "the test child").result() == {
        "1": [2, 3],
        "stop": None,
    }
