"""cdk-nag's AwsSolutions pack: no open findings, and every acknowledgement says why."""

from __future__ import annotations

from typing import Any

from cdk_nag import AwsSolutionsChecks

from tests.infra.conftest import Synthesis

# The complete list of accepted findings. A new one must be added here on purpose, with a
# reason in the construct that causes it, never silently.
ACKNOWLEDGED_EVERYWHERE = {
    "AwsSolutions-SMG4",
    "AwsSolutions-SQS3",
    "AwsSolutions-IAM5[Resource::*]",
    "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
    # Python 3.13, not the newest runtime: the one the asset can ship bytecode for.
    "AwsSolutions-L1",
}
OPEN_API = {"AwsSolutions-APIG4"}
MIN_REASON_LENGTH = 100


def _acknowledgements(synthesis: Synthesis) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for resource in synthesis.json["Resources"].values():
        rules: list[dict[str, Any]] = (
            resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
        )
        for rule in rules:
            found.setdefault(rule["id"], set()).add(rule["reason"])
    return found


def test_the_aws_solutions_pack_reports_no_open_findings(every_stage: Synthesis) -> None:
    report = AwsSolutionsChecks().validate_scope(every_stage.app)
    problems = [
        (violation.rule_name, [r.construct_path for r in violation.violating_resources])
        for violation in report.violations
    ]
    assert problems == []
    assert report.success


def test_only_the_reviewed_findings_are_acknowledged(
    dev: Synthesis, prod: Synthesis, options: Synthesis, anonymous_prod: Synthesis
) -> None:
    assert set(_acknowledgements(dev)) == ACKNOWLEDGED_EVERYWHERE | OPEN_API
    assert set(_acknowledgements(anonymous_prod)) == ACKNOWLEDGED_EVERYWHERE | OPEN_API
    # With an authoriser switched on, there is no open API left to excuse.
    assert set(_acknowledgements(prod)) == ACKNOWLEDGED_EVERYWHERE
    assert set(_acknowledgements(options)) == ACKNOWLEDGED_EVERYWHERE


def test_every_acknowledgement_carries_a_real_reason(every_stage: Synthesis) -> None:
    for rule_id, reasons in _acknowledgements(every_stage).items():
        for reason in reasons:
            assert len(reason) >= MIN_REASON_LENGTH, (rule_id, reason)
            assert "todo" not in reason.lower(), (rule_id, reason)
