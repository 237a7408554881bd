"""The cyclic collector is off only inside a large stage, and back on after it, whatever happens."""

from __future__ import annotations

import gc

import pytest

from annex.workspace.collector import cycles_collected_after


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
