"""The second round of hostile input (issue 11), each finding through the Lambda handler and
through `make run`'s server alike: a precise 4xx or a coded GraphQL error, nothing written."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
import pytest

from local.lambda_events import http_api_event
from tests.support.api import RECORD_DONATION_LEAN, invoke
from tests.support.aws import EmulatedAccount

DONATION = {"input": {"donorId": "donor-hostile", "amount": "5.00"}}
MUTATION_BODY = json.dumps({"query": RECORD_DONATION_LEAN, "variables": DONATION})
GATEWAY_REQUEST_ID = "Ab1CdEfGhIjKlMn="  # requestContext.requestId of the sample POST event


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def codes(self) -> list[str]:
        return [error["extensions"]["code"] for error in self.body.get("errors", [])]


Send = Callable[..., Reply]


def through_lambda(
    body: bytes = b"", *, path: str = "/graphql", method: str = "POST", **headers: str
) -> Reply:
    """As API Gateway delivers it: the body base64-encoded, as it does for any binary body."""
    event = http_api_event(headers={"content-type": "application/json", **headers})
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["routeKey"] = event["requestContext"]["routeKey"] = "$default"
    event["headers"]["content-length"] = str(len(body))
    event["body"] = base64.b64encode(body).decode()
    event["isBase64Encoded"] = True
    response = invoke(event)
    return Reply(response.status, response.headers, response.json)


@pytest.fixture(params=["lambda", "make run"])
def send(request: pytest.FixtureRequest) -> Send:
    """Sends one request through the Lambda handler or through `make run`'s uvicorn server."""
    if request.param == "lambda":
        request.getfixturevalue("aws")
        return through_lambda
    base_url = request.getfixturevalue("local_url").removesuffix("/graphql")

    def through_uvicorn(
        body: bytes = b"", *, path: str = "/graphql", method: str = "POST", **headers: str
    ) -> Reply:
        raw = {name: value.encode() for name, value in headers.items()}  # UTF-8, as sent
        raw.setdefault("content-type", b"application/json")
        response = httpx.request(method, base_url + path, content=body, headers=raw)
        return Reply(response.status_code, dict(response.headers), response.json())

    return through_uvicorn


def table_items() -> int:
    return len(boto3.client("dynamodb").scan(TableName="donations-test")["Items"])


# --- 1. bodies that are not UTF-8 ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"query": "\xff\xfe"}', "The request body is not valid UTF-8."),
        (MUTATION_BODY.encode("utf-16"), "The request body is not valid UTF-8."),
        (MUTATION_BODY.encode("utf-16-le"), "Unable to parse request body as JSON"),
        (MUTATION_BODY.encode("utf-32"), "The request body is not valid UTF-8."),
        (MUTATION_BODY.encode("utf-8-sig"), "Send the request body without a byte order mark."),
        (MUTATION_BODY.encode("latin-1") + b"\xe9", "The request body is not valid UTF-8."),
    ],
    ids=["invalid-utf8", "utf16-bom", "utf16-no-bom", "utf32", "utf8-bom", "latin1"],
)
def test_a_body_that_is_not_utf8_is_400_and_writes_nothing(
    send: Send, body: bytes, message: str
) -> None:
    reply = send(body)

    assert reply.status == 400
    assert reply.codes == ["BAD_REQUEST"]
    assert reply.body["errors"][0]["message"] == message
    assert table_items() == 0


# --- 6. paths, request ids, Accept ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/donor-42", "/graphql/", "/GRAPHQL", "/graphql/x"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_only_the_graphql_path_is_served(send: Send, path: str, method: str) -> None:
    reply = send(MUTATION_BODY.encode(), path=path, method=method, accept="text/html")

    assert reply.status == 404
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.codes == ["NOT_FOUND"]
    assert table_items() == 0


@pytest.mark.parametrize(
    "caller_id",
    ["x" * 200, "", "tab\there", "naïve", "ok-id-1"],
    ids=["long", "empty", "tab", "non-ascii", "usable"],
)
def test_the_response_header_and_the_error_carry_the_same_request_id(
    send: Send, caller_id: str
) -> None:
    reply = send(b"{", **{"x-request-id": caller_id})

    header = reply.headers["x-request-id"]
    assert reply.body["errors"][0]["extensions"]["requestId"] == header
    if send is through_lambda:
        assert header == GATEWAY_REQUEST_ID  # API Gateway's id wins under Lambda
    elif caller_id == "ok-id-1":
        assert header == caller_id
    else:
        assert header != caller_id


@pytest.mark.parametrize(
    "accept",
    [
        "application/json;q=-1, */*;q=0",
        "application/json;q=2",
        "application/json;q=nan",
        "application/json;q=1e0",
        "application/json;q=0.0001",
        "application/graphql-response+json;q=-0.5, application/json;q=0",
    ],
)
def test_an_accept_header_with_an_invalid_weight_is_406(send: Send, accept: str) -> None:
    reply = send(MUTATION_BODY.encode(), accept=accept)

    assert reply.status == 406
    assert reply.codes == ["NOT_ACCEPTABLE"]
    assert table_items() == 0


def test_a_weight_with_three_decimals_is_honoured(send: Send) -> None:
    reply = send(
        b'{"query": "{ __typename }"}',
        accept="application/json;q=0.5, application/graphql-response+json;q=0.501",
    )

    assert reply.status == 200
    assert reply.headers["content-type"] == "application/graphql-response+json"


# --- 6. make run: the request log and slow clients -----------------------------------------------


def test_the_request_log_names_the_route_never_the_path(
    local_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    base_url = local_url.removesuffix("/graphql")

    httpx.get(f"{base_url}/donor-secret-42?token=abc")
    httpx.post(local_url, json={"query": "{ __typename }"})

    def request_lines() -> list[dict[str, Any]]:
        return [r.__dict__ for r in caplog.records if r.getMessage() == "http request"]

    # Each line is written once its response has gone out.
    deadline = time.monotonic() + 5
    while len(lines := request_lines()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [(line["route"], line["status"]) for line in lines] == [
        ("unmatched", 404),
        ("/graphql", 200),
    ]
    assert "donor-secret" not in caplog.text
    assert all("path" not in line for line in lines)


def closed_within(connection: socket.socket, seconds: float) -> bool:
    """Whether the server closes the connection (recv gives b"") within `seconds`."""
    connection.settimeout(seconds)
    try:
        while connection.recv(4096):
            pass
    except TimeoutError:
        return False
    return True


@pytest.fixture
def short_deadlines(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same deadlines, shortened so the tests don't wait five seconds each."""
    monkeypatch.setattr("local.connections.HEADERS_TIMEOUT", 0.5)
    monkeypatch.setattr("local.connections.BODY_TIMEOUT", 0.5)


def connect(local_url: str) -> socket.socket:
    host, port = local_url.removeprefix("http://").removesuffix("/graphql").split(":")
    return socket.create_connection((host, int(port)))


@pytest.mark.usefixtures("short_deadlines")
def test_make_run_closes_a_connection_that_sends_nothing(local_url: str) -> None:
    with connect(local_url) as connection:
        assert closed_within(connection, 5)


@pytest.mark.usefixtures("short_deadlines")
def test_make_run_closes_a_connection_whose_headers_never_finish(local_url: str) -> None:
    with connect(local_url) as connection:
        connection.sendall(b"POST /graphql HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        time.sleep(0.2)
        connection.sendall(b"still typing")

        assert closed_within(connection, 5)


@pytest.mark.usefixtures("short_deadlines")
def test_make_run_closes_a_connection_whose_body_never_finishes_and_executes_nothing(
    local_url: str,
) -> None:
    body = MUTATION_BODY.encode()
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body) + 10}\r\n\r\n"
    )
    with connect(local_url) as connection:
        # The whole mutation arrives, but not the ten bytes the request promised.
        connection.sendall(head.encode() + body)

        assert closed_within(connection, 5)
    assert table_items() == 0


@pytest.mark.usefixtures("short_deadlines")
def test_make_run_keeps_serving_requests_on_a_kept_alive_connection(local_url: str) -> None:
    with httpx.Client() as client:
        first = client.post(local_url, json={"query": "{ __typename }"})
        time.sleep(0.8)  # longer than the deadlines: they time a request arriving, not idling
        second = client.post(local_url, json={"query": "{ __typename }"})

    assert first.status_code == second.status_code == 200


def test_the_lambda_handler_reads_the_gateway_request_id_for_a_404(aws: EmulatedAccount) -> None:
    reply = through_lambda(b"", path="/anything", method="GET")

    assert reply.status == 404
    assert reply.headers["x-request-id"] == GATEWAY_REQUEST_ID
    assert reply.body["errors"][0]["extensions"]["requestId"] == GATEWAY_REQUEST_ID


# --- 2. no accepted document costs much ---------------------------------------------------------


def graphql_body(query: str, **fields: Any) -> bytes:
    return json.dumps({"query": query, **fields}).encode()


@pytest.fixture
def overlap_comparisons(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the selection sets graphql-core's quadratic overlapping-fields rule looks at."""
    from graphql.validation.rules.overlapping_fields_can_be_merged import (
        OverlappingFieldsCanBeMergedRule,
    )

    seen: list[int] = []
    original = OverlappingFieldsCanBeMergedRule.enter_selection_set

    def counting(rule: Any, node: Any, *args: Any) -> Any:
        seen.append(len(node.selections))
        return original(rule, node, *args)

    monkeypatch.setattr(OverlappingFieldsCanBeMergedRule, "enter_selection_set", counting)
    return seen


def same_named_fields(count: int, field: str = "recordDonation") -> str:
    """The issue's document: one response name, different arguments, `count` times."""
    return (
        "mutation {"
        + " ".join(
            f'{field}(input: {{donorId: "d{i}", amount: "1"}}) {{ __typename }}'
            for i in range(count)
        )
        + "}"
    )


def test_the_issues_nine_kilobyte_document_is_refused_by_the_parser(
    send: Send, overlap_comparisons: list[int]
) -> None:
    fields = " ".join(f'donationCount(donorId: "donor-{i:03d}")' for i in range(330))
    document = "{ " + fields + " }"
    assert 9_000 < len(document) < 16_384

    reply = send(graphql_body(document))

    assert reply.codes == ["GRAPHQL_PARSE_FAILED"]  # over MAX_TOKENS, so never validated
    assert overlap_comparisons == []


@pytest.mark.parametrize(
    "document",
    [
        same_named_fields(50),
        "{" + " ".join(f'donationCount(donorId: "d{i}")' for i in range(150)) + "}",
    ],
    ids=["mutations", "queries"],
)
def test_same_named_fields_within_the_token_limit_are_refused_before_validation(
    send: Send, overlap_comparisons: list[int], document: str
) -> None:
    reply = send(graphql_body(document))

    assert reply.status == 200
    assert reply.codes == ["QUERY_TOO_COMPLEX"]
    assert overlap_comparisons == []  # the quadratic rule never ran
    assert table_items() == 0


def test_a_wide_selection_set_is_refused_at_one_field_over_the_limit(
    send: Send, overlap_comparisons: list[int]
) -> None:
    from schema.limits import MAX_SELECTION_SET_FIELDS

    accepted = send(graphql_body("{" + " __typename" * MAX_SELECTION_SET_FIELDS + "}"))
    refused = send(graphql_body("{" + " __typename" * (MAX_SELECTION_SET_FIELDS + 1) + "}"))

    assert accepted.body == {"data": {"__typename": "Query"}}
    assert refused.codes == ["QUERY_TOO_COMPLEX"]
    assert (
        f"selects {MAX_SELECTION_SET_FIELDS + 1} fields in one selection set"
        in (refused.body["errors"][0]["message"])
    )


def test_repeated_fields_are_merged_before_their_selection_sets_are_counted(
    send: Send, overlap_comparisons: list[int]
) -> None:
    # Eight copies of one field, each with five subfields: every syntactic selection set is
    # small, but graphql-core compares the 40 merged subfields pairwise.
    inner = " ".join(f"a{i}: donationCount" for i in range(5))
    document = "{" + f' donor(id: "d") {{ {inner} }}' * 8 + "}"
    fragments = '{ donor(id: "d") { ...A ...B ...C ...D ...E } } ' + " ".join(
        f"fragment {n} on Donor {{ {' '.join(['id'] * 7)} }}" for n in "ABCDE"
    )

    assert send(graphql_body(document)).codes == ["QUERY_TOO_COMPLEX"]
    assert send(graphql_body(fragments)).codes == ["QUERY_TOO_COMPLEX"]
    assert overlap_comparisons == []


def test_a_page_with_every_field_is_served_but_two_are_over_the_cost_limit(send: Send) -> None:
    page = (
        'donor(id: "d") { donations(first: 100) { nodes { id donorId amount currency '
        "donatedAt recordedAt } pageInfo { hasNextPage endCursor } } }"
    )

    one = send(graphql_body("{ " + page + " }"))
    two = send(graphql_body("{ a: " + page + " b: " + page + " }"))

    assert one.status == 200
    assert "errors" not in one.body
    assert two.codes == ["QUERY_TOO_COMPLEX"]
    assert "would cost" in two.body["errors"][0]["message"]


def test_a_page_size_in_a_variable_is_costed_at_its_worst(send: Send) -> None:
    page = "donations(first: $first) { nodes { id donorId amount currency donatedAt } }"
    query = 'query($first: Int) { a: donor(id: "a") { PAGE } b: donor(id: "b") { PAGE } }'
    defaulted = query.replace("$first: Int", "$first: Int = 5")

    assert send(graphql_body(query.replace("PAGE", page))).codes == ["QUERY_TOO_COMPLEX"]
    assert send(graphql_body(defaulted.replace("PAGE", page))).status == 200


def test_too_many_directives_are_refused(send: Send) -> None:
    from schema.limits import MAX_DIRECTIVES

    def with_directives(count: int) -> bytes:
        fields = " ".join(f"a{i}: __typename @include(if: true)" for i in range(count))
        return graphql_body("{ " + fields + " }")

    assert "errors" not in send(with_directives(MAX_DIRECTIVES)).body
    assert send(with_directives(MAX_DIRECTIVES + 1)).codes == ["QUERY_TOO_COMPLEX"]


def test_validation_stops_after_ten_errors(send: Send) -> None:
    from schema.limits import MAX_VALIDATION_ERRORS

    unused = ", ".join(f"$v{i}: ID" for i in range(150))

    reply = send(graphql_body(f"query Q({unused}) {{ __typename }}"))

    messages = [error["message"] for error in reply.body["errors"]]
    assert len(messages) == MAX_VALIDATION_ERRORS + 1
    assert messages[0] == "Variable '$v0' is never used in operation 'Q'."
    assert messages[-1] == "Too many validation errors, error limit reached. Validation aborted."
    assert set(reply.codes) == {"GRAPHQL_VALIDATION_FAILED"}


def test_the_largest_documents_we_serve_are_within_the_limits(send: Send) -> None:
    import graphql

    from tests.support.api import RECORD_DONATION

    introspection = graphql.get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    )

    served = send(graphql_body(introspection))
    recorded = send(graphql_body(RECORD_DONATION, variables=DONATION))

    assert "errors" not in served.body
    assert served.body["data"]["__schema"]["queryType"]["name"] == "Query"
    assert recorded.body["data"]["recordDonation"]["__typename"] == "RecordDonationSuccess"


# --- 3. several operations and no operationName --------------------------------------------------

TWO_OPERATIONS = (
    'mutation Give { recordDonation(input: {donorId: "donor-hostile", amount: "5"}) '
    '{ __typename } } query Count { donationCount(donorId: "donor-hostile") }'
)


@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json"])
def test_two_operations_without_an_operation_name_execute_neither(send: Send, accept: str) -> None:
    reply = send(graphql_body(TWO_OPERATIONS), accept=accept)

    assert reply.status == (200 if accept == "application/json" else 400)
    assert reply.codes == ["OPERATION_RESOLUTION_FAILURE"]
    assert reply.body["errors"][0]["message"] == (
        "Must provide operation name if query contains multiple operations."
    )
    assert reply.body.get("data") is None
    assert table_items() == 0


def test_two_operations_with_an_operation_name_execute_the_named_one(send: Send) -> None:
    count = send(graphql_body(TWO_OPERATIONS, operationName="Count"))
    give = send(graphql_body(TWO_OPERATIONS, operationName="Give"))

    assert count.body == {"data": {"donationCount": 0}}
    assert give.body == {"data": {"recordDonation": {"__typename": "RecordDonationSuccess"}}}


# --- 4. amounts are read strictly ---------------------------------------------------------------

RECORD_AMOUNT = (
    "mutation($input: RecordDonationInput!) { recordDonation(input: $input) { __typename "
    "... on RecordDonationSuccess { donation { amount } } "
    "... on InvalidDonation { errors { field code } } } }"
)


def record_with_amount_json(send: Send, amount_json: str) -> Reply:
    """Send `amount` as the given JSON text, byte for byte (a JSON number stays as written)."""
    body = (
        f'{{"query": {json.dumps(RECORD_AMOUNT)}, '
        f'"variables": {{"input": {{"donorId": "donor-hostile", "amount": {amount_json}}}}}}}'
    )
    return send(body.encode())


def amount_literal(send: Send, literal: str) -> Reply:
    query = RECORD_AMOUNT.replace(
        "mutation($input: RecordDonationInput!) { recordDonation(input: $input)",
        f'mutation {{ recordDonation(input: {{donorId: "donor-hostile", amount: {literal}}})',
    )
    return send(graphql_body(query))


@pytest.mark.parametrize(
    "amount",
    ["1_000", "\u0661\u0662", "\uff11\uff12.\uff15", " 12.5 ", "+12", "12.", ".5", "1e3", "-5"],
    ids=[
        "separator",
        "arabic-indic",
        "full-width",
        "spaces",
        "plus",
        "point",
        "no-integer",
        "exponent",
        "negative",
    ],
)
def test_an_amount_outside_the_grammar_is_not_a_number_and_writes_nothing(
    send: Send, amount: str
) -> None:
    as_string = record_with_amount_json(send, json.dumps(amount))

    assert as_string.body["data"]["recordDonation"]["errors"] == [
        {"field": "amount", "code": "NOT_A_NUMBER"}
    ]
    assert table_items() == 0


@pytest.mark.parametrize("number", ["1e3", "1E-2", "-5", "12.50e0"])
def test_a_number_written_outside_the_grammar_is_not_a_number(send: Send, number: str) -> None:
    for reply in (record_with_amount_json(send, number), amount_literal(send, number)):
        assert reply.body["data"]["recordDonation"]["errors"] == [
            {"field": "amount", "code": "NOT_A_NUMBER"}
        ]
    assert table_items() == 0


def test_a_number_with_more_digits_than_a_float_holds_is_not_rounded(send: Send) -> None:
    as_json = record_with_amount_json(send, "19.999999999999999999")
    as_literal = amount_literal(send, "19.999999999999999999")

    for reply in (as_json, as_literal):
        assert reply.body["data"]["recordDonation"]["errors"] == [
            {"field": "amount", "code": "TOO_MANY_DECIMALS"}
        ]
    assert table_items() == 0


@pytest.mark.parametrize(
    ("written", "recorded"),
    [
        ('"12.50"', "12.50"),
        ("12.5", "12.50"),
        ("25", "25.00"),
        ('"0012.5"', "12.50"),
        ("7.000", "7.00"),
        ("1000000", "1000000.00"),
    ],
)
def test_an_amount_in_the_grammar_round_trips_exactly(
    send: Send, written: str, recorded: str
) -> None:
    as_json = record_with_amount_json(send, written)
    as_literal = amount_literal(send, written)

    for reply in (as_json, as_literal):
        assert reply.body["data"]["recordDonation"] == {
            "__typename": "RecordDonationSuccess",
            "donation": {"amount": recorded},
        }


@pytest.mark.parametrize("literal", ["true", "null", "[1]", "{pence: 5}", "ONE"])
def test_a_literal_that_is_neither_a_string_nor_a_number_is_a_validation_error(
    send: Send, literal: str
) -> None:
    reply = amount_literal(send, literal)

    assert reply.codes == ["GRAPHQL_VALIDATION_FAILED"]
    assert table_items() == 0


# --- 5. cursors are this API's, for one donor's list ---------------------------------------------

PAGE = (
    "query($id: ID!, $first: Int!, $after: String) { donor(id: $id) { donations(first: $first, "
    "after: $after) { nodes { amount } pageInfo { hasNextPage endCursor } } } }"
)


def give(send: Send, donor_id: str, amounts: list[str]) -> None:
    for amount in amounts:
        variables = {"input": {"donorId": donor_id, "amount": amount}}
        reply = send(graphql_body(RECORD_DONATION_LEAN, variables=variables))
        assert reply.body["data"]["recordDonation"]["__typename"] == "RecordDonationSuccess"


def page(send: Send, donor_id: str, first: int, after: str | None) -> Reply:
    variables = {"id": donor_id, "first": first, "after": after}
    return send(graphql_body(PAGE, variables=variables))


def test_pages_follow_one_another_when_first_changes(send: Send) -> None:
    give(send, "donor-pages", ["1", "2", "3", "4", "5", "6"])

    seen: list[str] = []
    after = None
    for first in (1, 3, 2):
        donations = page(send, "donor-pages", first, after).body["data"]["donor"]["donations"]
        seen += [node["amount"] for node in donations["nodes"]]
        after = donations["pageInfo"]["endCursor"]

    assert seen == ["6.00", "5.00", "4.00", "3.00", "2.00", "1.00"]
    assert after is None


def cursor_of(send: Send, donor_id: str) -> str:
    donations = page(send, donor_id, 1, None).body["data"]["donor"]["donations"]
    cursor: str = donations["pageInfo"]["endCursor"]
    return cursor


def test_a_cursor_from_another_donors_list_or_altered_is_invalid(send: Send) -> None:
    give(send, "donor-a", ["1", "2"])
    give(send, "donor-b", ["1", "2"])
    issued = cursor_of(send, "donor-a")
    unsigned = base64.urlsafe_b64encode(b"DONATION#").decode().rstrip("=")

    for donor_id, cursor in [
        ("donor-b", issued),
        ("donor-a", issued + "AAAA"),
        ("donor-a", issued[:-2]),
        ("donor-a", unsigned),
        ("donor-a", "x" * 10_000),
    ]:
        reply = page(send, donor_id, 1, cursor)

        assert reply.body["data"] == {"donor": None}, cursor
        [error] = reply.body["errors"]
        assert error["extensions"] == {
            "code": "BAD_USER_INPUT",
            "field": "after",
            "reason": "INVALID_CURSOR",
        }
    assert page(send, "donor-a", 1, issued).body["data"]["donor"]["donations"]["nodes"]
