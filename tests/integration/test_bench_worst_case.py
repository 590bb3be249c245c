"""The worst-case benchmark searches what it says it searches (never how fast it is)."""

from __future__ import annotations

import graphql
import pytest

from bench.worst_case import Candidate, families, measure_worst_case
from schema import build_schema
from schema.http import MAX_BODY_BYTES
from schema.limits import MAX_TOKENS, measure, refusal


@pytest.mark.parametrize("candidate", families(), ids=lambda candidate: candidate.shape[:60])
def test_every_shape_tried_is_within_the_limits(candidate: Candidate) -> None:
    # A shape the limits refuse would cost nothing and prove nothing about the worst case.
    document = graphql.parse(candidate.query, max_tokens=MAX_TOKENS)

    assert refusal(measure(document, build_schema()._schema)) is None
    assert len(candidate.body(0).encode()) <= MAX_BODY_BYTES


def test_the_worst_case_names_a_shape_and_a_ratio_measured_side_by_side() -> None:
    result = measure_worst_case(rounds=2, screen_runs=1, examples=3, contenders=1)

    worst = result["worst"]
    assert worst["family"]
    assert worst["shape"]
    assert worst["ratio"]["n"] == 2
    assert worst["ratio"]["median"] > 0
    assert result["accepted"] == result["candidates"]
    assert "{" not in worst["shape"]  # a shape in words, never the document's text
