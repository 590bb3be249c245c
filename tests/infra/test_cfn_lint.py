"""cfn-lint on the synthesised templates: no errors, and no warnings but CDK's own."""

from __future__ import annotations

from cfnlint.api import ManualArgs, lint_file

from tests.infra.conftest import Synthesis

# Regions with different feature sets, so a property unavailable somewhere shows up.
REGIONS = ["us-east-1", "eu-west-1", "eu-west-2", "ap-southeast-2"]
# CDK writes an explicit DependsOn on the execution role next to the GetAtt that already
# implies it. Harmless, and not ours to change.
TOLERATED_WARNINGS = {"W3005"}


def test_cfn_lint_finds_no_errors_in_the_template(every_stage: Synthesis) -> None:
    matches = lint_file(every_stage.template_path, config=ManualArgs(regions=REGIONS))
    errors = [f"{m.rule.id} {m.message}" for m in matches if m.rule.id.startswith("E")]
    warnings = [
        f"{m.rule.id} {m.message}"
        for m in matches
        if m.rule.id.startswith("W") and m.rule.id not in TOLERATED_WARNINGS
    ]
    assert errors == []
    assert warnings == []
