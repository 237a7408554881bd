"""The cyclic collector is off only inside a large stage, and back on after it, whatever happens;
a large master built to last the run is then left out of later collections."""

from __future__ import annotations

import gc
import weakref

import pytest

from annex.io.collector import LARGE, cycles_collected_after, leave_out_of_collections


def test_the_collector_is_off_inside_and_back_after_an_error_or_a_nested_block():
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        with cycles_collected_after():
            assert not gc.isenabled()
            with cycles_collected_after():
                assert not gc.isenabled()
            assert not gc.isenabled()  # the inner block leaves it to the outer one
            raise RuntimeError("a failed stage")
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_caller_stays_off():
    gc.disable()
    try:
        with cycles_collected_after():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


class _Node:
    pass


def _cycle() -> tuple[_Node, "weakref.ref[_Node]"]:
    node = _Node()
    node.me = node  # only the cyclic collector can free it
    return node, weakref.ref(node)


def test_a_large_master_is_left_out_of_later_collections_and_what_comes_after_is_not():
    gc.collect()
    try:
        with cycles_collected_after():
            kept, kept_ref = _cycle()
        leave_out_of_collections(LARGE)
        later, later_ref = _cycle()
        del kept, later
        gc.collect()
        assert kept_ref() is not None  # frozen: a full collection no longer walks it
        assert later_ref() is None  # built after: collected as usual
        again, again_ref = _cycle()
        leave_out_of_collections(LARGE)  # the next large stage (a long-lived process): the last one's garbage goes first
        assert kept_ref() is None and again_ref() is not None
        del again
    finally:
        gc.unfreeze()
        gc.collect()


def test_a_small_master_is_not_frozen():
    gc.collect()
    before = gc.get_freeze_count()
    leave_out_of_collections(LARGE - 1)
    assert gc.get_freeze_count() == before
