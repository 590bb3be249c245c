"""The benchmark's measurements run and report what they should (never how fast)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.asset import describe
from bench.cold_start import spawn
from bench.layers import measure_layers
from bench.round_trips import measure_round_trips
from bench.warm import OPERATIONS, SAMPLED_ROW, measure_warm


def test_warm_measurement_reports_every_operation_side_by_side() -> None:
    warm = measure_warm(rounds=2, iterations=3, warmup=1)

    for name in [operation.name for operation in OPERATIONS] + [SAMPLED_ROW]:
        figures = warm[name]
        for figure in ("handler_us", "graphql_core_us", "strawberry_no_http_us", "ratio"):
            assert figures[figure]["n"] == 2
            assert figures[figure]["median"] > 0
    assert warm["donationCount"]["ratio_to_minimal_app"]["n"] == 2
    assert warm["goal"] == 0.70


def test_layer_measurement_compares_every_variant_with_the_deployed_handler() -> None:
    layers = measure_layers(batches=2, batch=2)

    assert set(layers) == {"recordDonation", "donationCount"}
    for variants in layers.values():
        assert variants["as deployed"]["ratio"] == 1.0
        assert len(variants) == 6
        assert all(figures["us"] > 0 for figures in variants.values())


def test_record_donation_is_one_write_and_a_read_only_when_the_donor_is_selected() -> None:
    counts = measure_round_trips()

    record = counts["recordDonation"]
    assert record["requests"] == ["dynamodb:TransactWriteItems (3 items, conditional)"]
    assert (record["dynamodb_writes"], record["dynamodb_reads"]) == (1, 0)
    replay = counts["recordDonation (replayed key)"]
    assert (replay["dynamodb_writes"], replay["dynamodb_reads"]) == (1, 0)
    with_donor = counts["recordDonation selecting donor"]
    assert (with_donor["dynamodb_writes"], with_donor["consistent_reads"]) == (1, 1)
    assert with_donor["dynamodb_reads"] == 1


def test_a_donor_with_its_first_page_and_its_first_and_last_times_is_one_query() -> None:
    counts = measure_round_trips()

    for name in ("donor with donations", "donor with first/last times"):
        assert counts[name]["requests"] == ["dynamodb:Query (consistent)"], name


def test_count_is_one_read_and_a_thank_you_one_conditional_write_and_one_publish() -> None:
    counts = measure_round_trips()

    assert counts["donationCount"]["requests"] == ["dynamodb:GetItem (consistent)"]
    thank_you = counts["thank-you"]
    assert thank_you["sns_publishes"] == 1
    assert thank_you["dynamodb_writes"] == thank_you["conditional_writes"] == 1
    redelivered = counts["thank-you (batch redelivered)"]
    assert (redelivered["sns_publishes"], redelivered["dynamodb_writes"]) == (0, 0)
    assert all(
        figures["http_attempts"] == len(figures["requests"])
        for figures in (counts[name] for name in counts if name != "all_ok")
    )
    assert counts["all_ok"] is True


@pytest.mark.parametrize("kind", ["handler", "minimal_app"])
def test_cold_start_child_serves_its_first_request_in_lambda_mode_without_network(
    kind: str,
) -> None:
    phases = spawn(kind)

    assert set(phases) == {"cpu_ms", "wall_ms", "init_ms", "first_request_ms", "max_rss_mb"}
    assert all(value > 0 for value in phases.values())


def test_asset_description_sizes_each_package(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("VALUE = 1\n" * 100)
    (tmp_path / "handler.py").write_text("def handle(): ...\n")

    asset = describe(tmp_path)

    assert asset["files"] == 2
    assert asset["python_files"] == 2
    assert asset["bytecode_files"] == 0
    assert [item["package"] for item in asset["contents"]] == ["pkg", "handler"]
    assert asset["unzipped_bytes"] == sum(item["unzipped_bytes"] for item in asset["contents"])
