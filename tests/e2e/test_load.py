"""A small `make load` against its own local server: every count and thank-you checked."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from donations.observability import configure_donor_hashing, donor_ref
from local.process import read_json_log
from scripts.load import (
    LoadPlan,
    local_server,
    report,
    run_load,
    seed_table,
    verify,
    wait_for_thank_you,
)


@pytest.mark.slow
@pytest.mark.parametrize(("auth", "requests"), [("none", 200), ("jwt", 100)])
def test_bounded_load_loses_no_donation_and_thanks_each_donor_once(
    auth: str, requests: int
) -> None:
    # Its own server, so the counts it checks are its own; replays included, since a
    # cancelled transaction must not disturb the stream or the thank-yous. Under AUTH=jwt
    # every request passes the local authorizer and the access policy first. A few hundred
    # earlier donations first, as `make load` seeds 10,000.
    plan = LoadPlan(clients=4, requests=requests, donors=30, hot_donors=2, replay_share=0.05)
    hash_key = secrets.token_hex(8)

    with local_server(hash_key, auth) as target:
        seeded = seed_table(target.emulator_url, 300, secrets.token_hex(4))
        configure_donor_hashing(hash_key)
        assert wait_for_thank_you(
            lambda: read_json_log(target.log_path), donor_ref(seeded.sentinel), timeout=60
        )
        result = asyncio.run(run_load(target.url, plan, target.headers))
        check = verify(
            target.url,
            result,
            lambda: read_json_log(target.log_path),
            hash_key,
            seeded=seeded,
            headers=target.headers,
        )

    summary = report(plan, result, check, seeded)
    assert result.requests >= requests, summary
    assert sum(result.errors.values()) == 0, summary
    assert not result.uncertain, summary
    assert check.mismatches == 0, summary
    assert check.thank_you_expected > 0, summary
    assert check.thank_you_exactly_once == check.thank_you_expected, summary
    assert check.seeded_checked > 0, summary
