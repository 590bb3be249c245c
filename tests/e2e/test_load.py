"""A small `make load` against its own local server: every count and thank-you checked."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from local.process import read_json_log
from scripts.load import LoadPlan, local_server, report, run_load, verify


@pytest.mark.slow
def test_bounded_load_loses_no_donation_and_thanks_each_donor_once() -> None:
    # Its own server, so the counts it checks are its own; replays included, since a
    # cancelled transaction must not disturb the stream or the thank-yous.
    plan = LoadPlan(clients=4, requests=200, donors=30, hot_donors=2, replay_share=0.05)
    hash_key = secrets.token_hex(8)

    with local_server(hash_key) as (url, log_path):
        result = asyncio.run(run_load(url, plan))
        check = verify(url, result, lambda: read_json_log(log_path), hash_key)

    summary = report(plan, result, check)
    assert result.requests >= 200, summary
    assert sum(result.errors.values()) == 0, summary
    assert not result.uncertain, summary
    assert check.mismatches == 0, summary
    assert check.thank_you_expected > 0, summary
    assert check.thank_you_exactly_once == check.thank_you_expected, summary
