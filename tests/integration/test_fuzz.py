"""Property-based fuzzing of the API through the real Lambda handler (hypothesis-graphql).

Five kinds of input, generated for this schema:

- valid documents (every query and mutation hypothesis-graphql can build from the SDL),
- invalid documents (hypothesis-graphql's one-violation documents, and valid documents with
  a few characters broken), checked as invalid by graphql-core against the SDL,
- variable sets for the three operations a client sends, valid or not by graphql-core's own
  coercion rules,
- amplified documents: valid ones repeated, spread through fragments and wrapped in
  directives until they straddle the document limits, checked against those limits
  restated as a naive oracle (an accepted document is within every one; a refused one never
  reached graphql-core's validation),
- amounts, written inside the grammar and far outside it, sent as a JSON string, a JSON
  number, a GraphQL string literal and a GraphQL number literal, each checked against the
  README's rule restated here as an oracle: recorded exactly, or refused with its code.

For every request: no 5xx, no INTERNAL_SERVER_ERROR, nothing internal in the response (no
traceback, file path or exception class name), no invalid input executed, and no write from a
request that was refused (the table's item count, by scan, is unchanged).

``make fuzz`` sets FUZZ_EXAMPLES=2000 per property and prints the counts; ``make test`` runs a
short version.
"""

from __future__ import annotations

import json
import logging
import os
import re
import string
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

import boto3
import graphql
import hypothesis_graphql
import pytest
from graphql.execution.values import get_variable_values
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from local.lambda_events import graphql_event
from schema import build_schema
from tests.support.api import RECORD_DONATION, ApiResponse, invoke

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
server_schema = build_schema()
SDL = str(server_schema)
ORACLE = graphql.build_schema(SDL)  # graphql-core's view of the contract, no server code

FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)

TALLY: Counter[str] = Counter()

# What must never reach a client: traces, source paths, Python or AWS exception names (the
# schema's own type names, such as FieldError, are part of the contract).
SCHEMA_NAMES = set(ORACLE.type_map)
LEAKS = [
    re.compile(r"Traceback \(most recent call last\)"),
    re.compile(r'File "[^"]+", line \d+'),
    re.compile(r"(/work/|/var/task/|site-packages|\.py\b)"),
    re.compile(r"\b(?!GraphQL)[A-Z][A-Za-z]*(Error|Exception)\b"),
    re.compile(r"<class '"),
]

# --- scalar literals for hypothesis-graphql ---------------------------------------------------

DECIMALS = st.one_of(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal(1_000_000), places=2),
    st.decimals(allow_nan=False, allow_infinity=False),
).map(lambda amount: graphql.StringValueNode(value=str(amount)))
AMOUNT_LITERALS = st.one_of(
    DECIMALS,
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal(1_000_000), places=2).map(
        lambda amount: graphql.FloatValueNode(value=str(amount))
    ),
    st.integers(min_value=-5, max_value=2_000_000).map(
        lambda amount: graphql.IntValueNode(value=str(amount))
    ),
)
DATETIMES = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
).map(lambda moment: graphql.StringValueNode(value=moment.isoformat()))
CUSTOM_SCALARS = {"Decimal": DECIMALS, "Amount": AMOUNT_LITERALS, "DateTime": DATETIMES}


def documents(mode: hypothesis_graphql.Mode) -> st.SearchStrategy[str]:
    return st.one_of(
        hypothesis_graphql.queries(SDL, custom_scalars=CUSTOM_SCALARS, mode=mode),
        hypothesis_graphql.mutations(SDL, custom_scalars=CUSTOM_SCALARS, mode=mode),
    )


@st.composite
def broken(draw: st.DrawFn, document: str) -> str:
    """The document with one small syntactic accident: a cut, an insertion or a swap."""
    at = draw(st.integers(0, len(document)))
    noise = draw(st.text(alphabet='{}()[]:$@!."#,=|&-\\ \n' + string.ascii_letters, max_size=4))
    kind = draw(st.sampled_from(["cut", "insert", "truncate", "swap"]))
    if kind == "cut":
        return document[:at] + document[at + draw(st.integers(1, 8)) :]
    if kind == "insert":
        return document[:at] + noise + document[at:]
    if kind == "truncate":
        return document[:at]
    return document.replace("{", "(", 1) if draw(st.booleans()) else document.replace(":", "", 1)


def is_valid_document(document: str) -> bool:
    try:
        parsed = graphql.parse(document)
    except graphql.GraphQLError:
        return False
    return not graphql.validate(ORACLE, parsed)


# --- the checks made on every response --------------------------------------------------------


def item_count() -> int:
    table = boto3.client("dynamodb")
    return int(table.scan(TableName="donations-test", Select="COUNT")["Count"])


def send(body: dict[str, Any], *, raw: str | None = None) -> tuple[ApiResponse, int]:
    """POST the body (or its `raw` JSON text) through the handler; the response and how many
    items it wrote."""
    before = item_count()
    event = graphql_event(body["query"], body.get("variables"))
    if raw is not None:
        event["body"] = raw
    response = invoke(event)
    TALLY["requests"] += 1
    written = item_count() - before
    assert response.status < 500, response.body
    request_text = json.dumps(body)
    for leak in LEAKS:
        found = {match.group(0) for match in leak.finditer(response.body)}
        echoed = {match.group(0) for match in leak.finditer(request_text)}
        assert not found - echoed - SCHEMA_NAMES, (leak.pattern, response.body)
    payload = response.json
    codes = [error.get("extensions", {}).get("code") for error in payload.get("errors", [])]
    assert "INTERNAL_SERVER_ERROR" not in codes, response.body
    assert None not in codes, response.body  # every error carries a code
    return response, written


def refused_before_execution(response: ApiResponse) -> bool:
    payload = response.json
    return bool(
        response.status >= 400
        or (payload.get("data") is None and all("path" not in e for e in payload["errors"]))
    )


def refused_by_the_domain(payload: dict[str, Any]) -> bool:
    """Executed, but nothing recorded: a typed refusal or a client error on a field."""
    result = (payload.get("data") or {}).get("recordDonation")
    success = isinstance(result, dict) and result.get("__typename") == "RecordDonationSuccess"
    return not success and not (result or {}).get("replayed", False)


@pytest.fixture
def fuzzing(aws: Any, capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    """The emulated account; log lines and metrics muted (thousands of requests, even -s)."""
    from donations.observability import logger

    level = logger.log_level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    print(  # noqa: T201 - the figures `make fuzz` reports
        f"\nfuzz: {TALLY['valid documents']} valid documents, "
        f"{TALLY['invalid documents']} invalid documents, "
        f"{TALLY['valid variable sets']} valid and {TALLY['invalid variable sets']} invalid "
        f"variable sets; {TALLY['requests']} requests, 0 server errors, 0 leaks, "
        f"0 invalid inputs executed, 0 writes from {TALLY['refused']} refused requests "
        f"({TALLY['recorded']} donations recorded by valid mutations); amplified documents: "
        f"{TALLY['amplified served']} served within the limits, {TALLY['amplified refused']} "
        "refused before validation; amounts: "
        f"{TALLY['amounts recorded']} recorded exactly, {TALLY['amounts refused']} refused "
        "with the oracle's code"
    )


# --- properties -------------------------------------------------------------------------------


@FUZZ_SETTINGS
@given(document=documents(hypothesis_graphql.Mode.POSITIVE))
def test_valid_documents_are_executed_without_server_errors(fuzzing: None, document: str) -> None:
    assume(is_valid_document(document))

    response, written = send({"query": document})

    TALLY["valid documents"] += 1
    payload = response.json
    codes = {error["extensions"]["code"] for error in payload.get("errors", [])}
    if refused_before_execution(response):
        # Valid GraphQL, but over a limit (tokens, aliases, cost...) or a scalar literal the
        # server refuses.
        assert codes <= {
            "QUERY_TOO_COMPLEX",
            "GRAPHQL_PARSE_FAILED",
            "GRAPHQL_VALIDATION_FAILED",
        }, response.body
        assert written == 0
        TALLY["refused"] += 1
    elif any(len(error.get("path", [])) == 1 for error in payload.get("errors", [])):
        assert written == 0, response.body  # a root field refused: nothing recorded
        TALLY["refused"] += 1
    elif written:
        TALLY["recorded"] += 1


@FUZZ_SETTINGS
@given(
    document=st.one_of(
        documents(hypothesis_graphql.Mode.NEGATIVE),
        documents(hypothesis_graphql.Mode.POSITIVE).flatmap(broken),
    )
)
def test_invalid_documents_are_refused_and_write_nothing(fuzzing: None, document: str) -> None:
    assume(not is_valid_document(document))

    response, written = send({"query": document})

    TALLY["invalid documents"] += 1
    TALLY["refused"] += 1
    assert refused_before_execution(response), response.body
    assert written == 0


# --- variable sets ----------------------------------------------------------------------------

DONOR = """
query Donor($id: ID!, $first: Int, $after: String) {
  donor(id: $id) { id donationCount donations(first: $first, after: $after) { nodes { id } } }
}
"""
COUNT = "query Count($id: ID!) { donationCount(donorId: $id) }"

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=80),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
DONOR_IDS = st.one_of(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,20}", fullmatch=True), JSON_VALUES
)
AMOUNTS = st.one_of(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10_000), places=2).map(str),
    st.sampled_from(["0", "-1", "1e3", "NaN", "Infinity", "1.234", "1000000.01", "", " 5"]),
    JSON_VALUES,
)
WHEN = st.one_of(
    st.datetimes(min_value=datetime(1999, 1, 1), max_value=datetime.now() + timedelta(days=2)).map(
        lambda moment: moment.replace(tzinfo=UTC).isoformat()
    ),
    JSON_VALUES,
)
RECORD_INPUTS = st.fixed_dictionaries(
    {"donorId": DONOR_IDS, "amount": AMOUNTS},
    optional={
        "currency": st.one_of(st.sampled_from(["GBP", "EUR", "JPY", "gbp", "XXX"]), JSON_VALUES),
        "idempotencyKey": st.one_of(
            st.from_regex(r"[A-Za-z0-9._:-]{6,20}", fullmatch=True), JSON_VALUES
        ),
        "donatedAt": WHEN,
        "unexpected": JSON_VALUES,
    },
)
VARIABLE_SETS = st.one_of(
    st.tuples(
        st.just(RECORD_DONATION), st.fixed_dictionaries({"input": RECORD_INPUTS | JSON_VALUES})
    ),
    st.tuples(st.just(COUNT), st.fixed_dictionaries({}, optional={"id": DONOR_IDS})),
    st.tuples(
        st.just(DONOR),
        st.fixed_dictionaries(
            {"id": DONOR_IDS}, optional={"first": JSON_VALUES, "after": JSON_VALUES}
        ),
    ),
)


def coerces(document: str, variables: dict[str, Any]) -> bool:
    """graphql-core's verdict on the variables, with the server's own scalars."""
    [operation] = graphql.parse(document).definitions
    assert isinstance(operation, graphql.OperationDefinitionNode)
    result = get_variable_values(
        server_schema._schema, operation.variable_definitions or (), variables
    )
    return not isinstance(result, list)


@FUZZ_SETTINGS
@given(case=VARIABLE_SETS)
def test_variable_sets_are_coerced_or_refused_and_refusals_write_nothing(
    fuzzing: None, case: tuple[str, dict[str, Any]]
) -> None:
    document, variables = case
    valid = coerces(document, variables)

    response, written = send({"query": document, "variables": variables})

    payload = response.json
    if not valid:
        TALLY["invalid variable sets"] += 1
        TALLY["refused"] += 1
        assert refused_before_execution(response), response.body
        assert {e["extensions"]["code"] for e in payload["errors"]} == {"BAD_USER_INPUT"}
        assert written == 0
        return
    TALLY["valid variable sets"] += 1
    assert not refused_before_execution(response), response.body
    if refused_by_the_domain(payload):
        TALLY["refused"] += 1
        assert written == 0, response.body
    elif document is RECORD_DONATION and not payload["data"]["recordDonation"]["replayed"]:
        TALLY["recorded"] += 1
        assert written >= 1  # the donation (and its donor, and the idempotency marker)


# --- amounts ------------------------------------------------------------------------------------

# The README's rule, restated independently of the server's code.
AMOUNT_GRAMMAR = re.compile(r"[0-9]+(\.[0-9]+)?", re.ASCII)
JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
AMOUNT_TEXTS = st.one_of(
    st.from_regex(r"[0-9]{1,8}(\.[0-9]{1,22})?", fullmatch=True),
    st.text(alphabet="0123456789.,_+-eExX \t\n\u0661\u0662\u06f3\uff11\uff12\u00bd", max_size=16),
    st.text(max_size=12),
)
AMOUNT_QUERY = (
    'mutation { recordDonation(input: {donorId: "donor-amount", amount: LITERAL}) '
    "{ ... on RecordDonationSuccess { donation { amount } } "
    "... on InvalidDonation { errors { field code } } } }"
)


def expected_amount(text: str) -> str:
    """What the README promises for an amount in GBP: the amount recorded, or the code."""
    if not AMOUNT_GRAMMAR.fullmatch(text):
        return "NOT_A_NUMBER"
    value = Decimal(text)
    if value == 0:
        return "NOT_POSITIVE"
    if value > 1_000_000:
        return "TOO_LARGE"
    pence = value.quantize(Decimal("0.01"), ROUND_DOWN)
    return "TOO_MANY_DECIMALS" if pence != value else str(pence)


@FUZZ_SETTINGS
@given(
    text=AMOUNT_TEXTS,
    form=st.sampled_from(["json string", "json number", "string literal", "number literal"]),
)
def test_amounts_round_trip_exactly_or_are_refused_with_their_code_and_write_nothing(
    fuzzing: None, text: str, form: str
) -> None:
    expected = expected_amount(text)
    if form.endswith("number"):
        # Only a number as JSON or GraphQL writes it (their grammars agree on this).
        assume(JSON_NUMBER.fullmatch(text))
        if form == "json number" and not any(mark in text for mark in ".eE"):
            # A JSON integer is read by value ("-0" is 0), a GraphQL one by its text.
            expected = expected_amount(str(int(text)))
    input_text = text if form == "json number" else json.dumps(text)
    if form.endswith("literal"):
        body = {"query": AMOUNT_QUERY.replace("LITERAL", input_text)}
        response, written = send(body)
    else:
        query = AMOUNT_QUERY.replace("mutation {", "mutation($amount: Amount!) {").replace(
            "LITERAL", "$amount"
        )
        raw = f'{{"query": {json.dumps(query)}, "variables": {{"amount": {input_text}}}}}'
        response, written = send({"query": query}, raw=raw)

    result = response.json["data"]["recordDonation"]
    if expected[0].isdigit():
        assert result == {"donation": {"amount": expected}}, (text, form, response.body)
        assert written >= 1
        TALLY["amounts recorded"] += 1
    else:
        assert result == {"errors": [{"field": "amount", "code": expected}]}, (text, form)
        assert written == 0
        TALLY["amounts refused"] += 1


# --- the document limits ------------------------------------------------------------------------


@st.composite
def amplified(draw: st.DrawFn) -> str:
    """A valid document whose root selections are repeated, spread through a fragment and
    wrapped in directives, some within the limits and some beyond them."""
    document = draw(documents(hypothesis_graphql.Mode.POSITIVE).filter(is_valid_document))
    [operation] = graphql.parse(document).definitions
    assert isinstance(operation, graphql.OperationDefinitionNode)
    root = "Query" if operation.operation == graphql.OperationType.QUERY else "Mutation"
    selection = " ".join(graphql.print_ast(node) for node in operation.selection_set.selections)
    selection = " ".join([selection] * draw(st.integers(1, 40)))
    for _ in range(draw(st.integers(0, 12))):
        selection = f"... @include(if: true) {{ {selection} }}"
    spreads = draw(st.integers(0, 6))
    keyword = operation.operation.value
    if not spreads:
        return f"{keyword} {{ {selection} }}"
    return f"{keyword} {{ {'...F ' * spreads}}} fragment F on {root} {{ {selection} }}"


def naive_shape(document: graphql.DocumentNode) -> dict[str, int]:
    """The limits' figures, by plain recursion: every fragment expanded where it is spread,
    fields merged by response name (fine for the small documents generated here)."""
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, graphql.FragmentDefinitionNode)
    }
    figures = Counter[str]()
    widths: list[int] = []

    def expand(selection_set: graphql.SelectionSetNode, merged: dict[str, Any]) -> None:
        for node in selection_set.selections:
            figures["selections"] += 1
            figures["directives"] += len(node.directives or ())
            if isinstance(node, graphql.FieldNode):
                figures["aliases"] += node.alias is not None
                key = (node.alias or node.name).value
                entry = merged.setdefault(key, {"count": 0, "children": {}})
                entry["count"] += 1
                if node.selection_set:
                    expand(node.selection_set, entry["children"])
            elif isinstance(node, graphql.InlineFragmentNode):
                expand(node.selection_set, merged)
            elif isinstance(node, graphql.FragmentSpreadNode):
                fragment = fragments[node.name.value]
                figures["directives"] += len(fragment.directives or ())
                expand(fragment.selection_set, merged)

    def width(merged: dict[str, Any]) -> None:
        widths.append(sum(entry["count"] for entry in merged.values()))
        for entry in merged.values():
            width(entry["children"])

    for definition in document.definitions:
        if isinstance(definition, graphql.OperationDefinitionNode):
            merged: dict[str, Any] = {}
            expand(definition.selection_set, merged)
            width(merged)
    figures["widest"] = max(widths, default=0)
    return dict(figures)


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the selection sets graphql-core's overlapping-fields rule visits."""
    from graphql.validation.rules.overlapping_fields_can_be_merged import (
        OverlappingFieldsCanBeMergedRule,
    )

    visited: list[int] = []
    original = OverlappingFieldsCanBeMergedRule.enter_selection_set

    def counting(rule: Any, node: Any, *args: Any) -> Any:
        visited.append(1)
        return original(rule, node, *args)

    monkeypatch.setattr(OverlappingFieldsCanBeMergedRule, "enter_selection_set", counting)
    return visited


LIMIT_REFUSALS = {"QUERY_TOO_COMPLEX", "GRAPHQL_PARSE_FAILED", "PAYLOAD_TOO_LARGE"}


@FUZZ_SETTINGS
@given(document=amplified())
def test_amplified_documents_are_served_within_the_limits_or_refused_before_validation(
    fuzzing: None, validations: list[int], document: str
) -> None:
    from schema.http import MAX_BODY_BYTES
    from schema.limits import (
        MAX_ALIASES,
        MAX_DIRECTIVES,
        MAX_SELECTION_SET_FIELDS,
        MAX_SELECTIONS,
        MAX_TOKENS,
    )

    validations.clear()
    response, written = send({"query": document})

    payload = response.json
    codes = {error["extensions"]["code"] for error in payload.get("errors", [])}
    if codes & LIMIT_REFUSALS:
        assert codes <= LIMIT_REFUSALS, response.body
        assert validations == []  # refused before graphql-core's validation
        assert written == 0
        TALLY["amplified refused"] += 1
        return
    shape = naive_shape(graphql.parse(document, max_tokens=MAX_TOKENS))
    assert len(json.dumps({"query": document})) <= MAX_BODY_BYTES
    assert shape["selections"] <= MAX_SELECTIONS, shape
    assert shape["widest"] <= MAX_SELECTION_SET_FIELDS, shape
    assert shape["directives"] <= MAX_DIRECTIVES, shape
    assert shape["aliases"] <= MAX_ALIASES, shape
    TALLY["amplified served"] += 1
