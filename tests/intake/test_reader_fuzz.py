"""Fuzzing the workbook reader (issue 14): a few thousand workbooks, each one OOXML part mutated in
memory (bytes flipped, hostile snippets inserted, ranges cut or doubled, parts truncated), read as
the workers read them. None may crash a worker, raise, or come back unreadable without a rule of
the catalogue and a Japanese message."""

from __future__ import annotations

import pytest
from hostile import FUZZ_PARTS, SNIPPETS, fuzz_base, mutated, read_summary
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annex.io.workers import WorkerPool
from annex.model.rules import RULES

pytestmark = pytest.mark.reliability

BATCH = 50  # workbooks per example: one round trip to the workers for many cases
EXAMPLES = 60  # × BATCH = 3,000 mutated workbooks

PARTS = fuzz_base()
mutation = st.tuples(
    st.sampled_from(FUZZ_PARTS),
    st.sampled_from(("flip", "insert", "insert", "cut", "double", "truncate")),
    st.floats(0, 1),
    st.one_of(st.sampled_from(SNIPPETS).map(str.encode), st.binary(min_size=1, max_size=8)),
)


@pytest.fixture(scope="module")
def pool():
    with WorkerPool(workers=2, memory_mb=1024, timeout_s=20) as workers:
        yield workers


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], database=None)
@given(st.lists(mutation, min_size=BATCH, max_size=BATCH))
def test_no_mutated_workbook_crashes_the_reader(pool, mutations):
    files = [mutated(PARTS, *m) for m in mutations]
    for m, outcome in zip(mutations, pool.map(read_summary, [(f,) for f in files])):
        assert outcome.ok, (m, outcome.status, outcome.detail)  # never a dead worker, a timeout or an exception
        readable, issues = outcome.value
        for rule, _severity, message in issues:
            assert rule in RULES and message, (m, rule)
        assert readable or any(severity == "error" for _, severity, _ in issues), m
