"""Worst case: the most expensive document a search finds within the limits, against a plain one.

Every document here passes the limits of ``schema.limits`` (nothing is refused as too
complex, too long or not parseable); it may still fail validation or execution, which is
where its cost lies. Two searches look for the most expensive:

- families of shapes known to be expensive for a GraphQL server (same-named fields with
  differing arguments, fragment fan-out, nesting, many variables, operations or errors,
  directives, long strings and comments, and the most storage reads the cost allows),
  each at the sizes the limits allow;
- a property-based search (hypothesis, with ``target``) over documents assembled from the
  same pieces, maximising CPU time.

The figure is the CPU time of the worst document through ``handler.api_handler`` (measured as
``bench.warm`` measures: in a child interpreter in Lambda mode, the entry point built at
import, tracing on, every AWS call answered at botocore's send) divided by that of
``{ donationCount(donorId: "d") }``, measured side by side. The worst
document is sent as an attacker would, with fresh text each time so no cache helps it; the
plain one as a client sends it, the same text each time.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.canned import SERVICES, CannedTransport, answers
from bench.environment import (
    GATEWAY_AUTHORIZER,
    run_measurement,
    stdout_discarded,
    trace_header,
)
from bench.stats import summary

PLAIN = '{ donationCount(donorId: "d") }'
GOAL = 20.0
# Codes that mean the limits refused the document: such a document is not a candidate.
_REFUSED = {"QUERY_TOO_COMPLEX", "GRAPHQL_PARSE_FAILED", "PAYLOAD_TOO_LARGE", "BAD_REQUEST"}
FULL_PAGE = 100
# Sends one request body through the handler: (CPU seconds, status, response body).
Send = Callable[[str], tuple[float, int, dict[str, Any]]]


@dataclass(frozen=True)
class Candidate:
    """A document to try: its family, its shape in words (never its text), and the request."""

    family: str
    shape: str
    query: str
    variables: dict[str, Any] | None = None
    operation_name: str | None = None

    def body(self, salt: int) -> str:
        # A comment is free for the token limit and changes the text, so the parse and
        # validation caches miss every time, as they would for an attacker.
        payload: dict[str, Any] = {"query": f"{self.query}\n#{salt}"}
        if self.variables is not None:
            payload["variables"] = self.variables
        if self.operation_name is not None:
            payload["operationName"] = self.operation_name
        return json.dumps(payload)


class PagedTransport(CannedTransport):
    """bench.canned's answers for a donor with more donations than any page, each Query
    answered with as many items as its ``Limit`` asks for, as DynamoDB would: a worst case
    must not be cheap because the canned page is short, nor dear because it is too long."""

    def __init__(self) -> None:
        canned = answers()
        super().__init__(canned)
        # The canned Query reads a donor with its page: the donor item, then donations.
        self._donor, template = json.loads(canned["Query"])["Items"][:2]
        self._donations = []
        for index in range(FULL_PAGE + 2):
            donation = json.loads(json.dumps(template))
            donation["sk"]["S"] = f"{template['sk']['S'][:-12]}{index:012d}"
            donation["donationId"]["S"] = f"{template['donationId']['S'][:-12]}{index:012d}"
            self._donations.append(donation)

    def __call__(self, request: Any, event_name: str, **kwargs: Any) -> Any:
        if event_name.endswith(".Query"):
            query = json.loads(request.body)
            # A donor's history reads the donor item first (its key range ends at it).
            with_donor = ":donor" in query.get("ExpressionAttributeValues", {})
            items = [self._donor, *self._donations] if with_donor else self._donations
            page = items[: query["Limit"]]
            self._canned["Query"] = json.dumps({"Items": page, "Count": len(page)}).encode()
        return super().__call__(request, event_name, **kwargs)


def lambda_api() -> Send:
    """``handler.api_handler`` as Lambda's init builds it, every AWS call answered at
    botocore's send. Call it in a child interpreter in Lambda mode (``measure_worst_case``)."""
    import boto3

    transport = PagedTransport()
    boto3.setup_default_session()  # before the import: the handler builds its clients then
    for service in SERVICES:
        boto3.DEFAULT_SESSION.events.register(f"before-send.{service}", transport)  # type: ignore[union-attr]
    import handler
    from local.lambda_context import LocalLambdaContext
    from local.lambda_events import http_api_event

    context = LocalLambdaContext()

    def send(body: str) -> tuple[float, int, dict[str, Any]]:
        # As production's gateway delivers it: a verified backend caller's claims, and a
        # fresh unsampled trace id, as the runtime sets one per invocation.
        event = http_api_event(body=body, authorizer=dict(GATEWAY_AUTHORIZER))
        os.environ["_X_AMZN_TRACE_ID"] = trace_header(sampled=False)
        started = time.process_time()
        response = handler.api_handler(event, context)
        elapsed = time.process_time() - started
        return elapsed, response["statusCode"], json.loads(response["body"])

    return send


def accepted(reply: dict[str, Any], status: int) -> bool:
    codes = {error.get("extensions", {}).get("code") for error in reply.get("errors", [])}
    return status < 400 and not codes & _REFUSED


# --- families of expensive shapes ------------------------------------------------------------


def _same_name(count: int) -> Candidate:
    fields = " ".join(f'donationCount(donorId: "d{i}")' for i in range(count))
    return Candidate(
        "overlapping fields",
        f"{count} root fields of one response name, each with different arguments",
        "{ " + fields + " }",
    )


def _nested_merge(copies: int, children: int) -> Candidate:
    inner = " ".join(f"donations(first: {i + 1}) {{ __typename }}" for i in range(children))
    body = " ".join(f'donor(id: "d") {{ {inner} }}' for _ in range(copies))
    return Candidate(
        "overlapping fields",
        f"{copies} copies of one field, each with {children} same-named subfields with "
        f"different arguments ({copies * children} merged)",
        "{ " + body + " }",
    )


def _fragment_fan_out(fragments: int, fields: int) -> Candidate:
    definitions = " ".join(
        f"fragment F{f} on Donor {{ "
        + " ".join(f"donations(first: {f + 1}) {{ __typename }}" for _ in range(fields))
        + " }"
        for f in range(fragments)
    )
    spreads = " ".join(f"...F{f}" for f in range(fragments))
    return Candidate(
        "fragment fan-out",
        f"{fragments} fragments of {fields} conflicting fields each, all spread into one "
        "selection set",
        f'{{ donor(id: "d") {{ {spreads} }} }} {definitions}',
    )


def _fragment_reuse(spreads: int) -> Candidate:
    uses = " ".join(f'a{i}: donor(id: "d{i}") {{ ...F }}' for i in range(spreads))
    return Candidate(
        "fragment fan-out",
        f"one fragment of every donor field spread under {spreads} aliased donors",
        f"{{ {uses} }} fragment F on Donor {{ id donationCount thankedAt totals {{ amount "
        "currency } }",
    )


def _deep_introspection(levels: int) -> Candidate:
    inner = "name"
    for _ in range(levels):
        inner = f"ofType {{ kind {inner} }}"
    return Candidate(
        "nesting",
        f"introspection nested {levels} levels of ofType (refused by validation in prod)",
        f'{{ __type(name: "Donor") {{ fields {{ type {{ {inner} }} }} }} }}',
    )


def _deepest_mutation() -> Candidate:
    return Candidate(
        "nesting",
        "recordDonation to the deepest leaf, the donor's first and last gifts and a page of 50",
        'mutation { recordDonation(input: {donorId: "d", amount: "5"}) { __typename '
        "... on RecordDonationSuccess { donor { firstDonatedAt lastDonatedAt totals { amount } "
        "donations(first: 50) { nodes { id donorId amount currency donatedAt recordedAt } "
        "pageInfo { endCursor } } } } } }",
    )


def _many_variables(count: int, used: bool) -> Candidate:
    definitions = ", ".join(f"$v{i}: ID" for i in range(count))
    fields = (
        " ".join(f"a{i}: donationCount(donorId: $v{i})" for i in range(min(count, 15)))
        if used
        else "__typename"
    )
    return Candidate(
        "many variables",
        f"{count} variable definitions, {'15 used' if used else 'all unused'}, each given a value",
        f"query Q({definitions}) {{ {fields} }}",
        variables={f"v{i}": f"donor-{i}" for i in range(count)},
    )


def _big_variable_value(keys: int) -> Candidate:
    return Candidate(
        "many variables",
        f"an input variable with {keys} unknown fields",
        "mutation($input: RecordDonationInput!) { recordDonation(input: $input) { __typename } }",
        variables={"input": {"donorId": "d", "amount": "5", **{f"k{i}": i for i in range(keys)}}},
    )


def _many_operations(count: int) -> Candidate:
    operations = " ".join(f"query Q{i} {{ __typename }}" for i in range(count))
    return Candidate(
        "many operations",
        f"{count} named operations, the first one selected",
        operations,
        operation_name="Q0",
    )


def _directives(count: int) -> Candidate:
    fields = " ".join(f'a{i}: donationCount(donorId: "d") @skip(if: $s)' for i in range(count))
    return Candidate(
        "directives",
        f"{count} fields with a variable @skip each",
        f"query($s: Boolean!) {{ {fields} }}",
        variables={"s": False},
    )


def _long_text(kind: str, size: int) -> Candidate:
    text = "x" * size
    queries = {
        "string": f'{{ donationCount(donorId: "{text}") }}',
        "block string": f'{{ donationCount(donorId: """{text}""") }}',
        "comment": f'{{ donationCount(donorId: "d") }} #{text}',
        "bad literal": f'{{ donor(id: "d") {{ donations(first: "{text}") {{ __typename }} }} }}',
    }
    return Candidate("long strings", f"a {size / 1024:.0f} KiB {kind}", queries[kind])


def _errors(count: int) -> Candidate:
    # Fields past the 15th share one response name, so they conflict with each other too.
    fields = " ".join(
        f"{f'a{i}: ' if i < 15 else ''}donationCount(donorId: {i}, nope: {i})" for i in range(count)
    )
    return Candidate(
        "many errors", f"{count} fields with two argument errors each", "{ " + fields + " }"
    )


def _storage_reads(donors: int, counts: int) -> Candidate:
    """As many storage requests as the cost allows: donors with four reads each, counts."""
    reads = " ".join(
        f'd{i}: donor(id: "d{i}") {{ firstDonatedAt lastDonatedAt '
        "donations(first: 1) { nodes { id } } }"
        for i in range(donors)
    )
    # The aliases allow 15 counts and one more without an alias.
    tallies = " ".join(
        f'{f"c{i}: " if i else ""}donationCount(donorId: "c{i}")' for i in range(counts)
    )
    return Candidate(
        "storage reads",
        f"{donors * 4 + counts} storage requests: {donors} donors with their first and last "
        f"gifts and a page, and {counts} counts",
        f"{{ {reads} {tallies} }}",
    )


def _full_page() -> Candidate:
    return Candidate(
        "storage reads",
        f"one page of {FULL_PAGE} donations with every field",
        '{ donor(id: "d") { id donationCount thankedAt totals { amount currency } '
        f"donations(first: {FULL_PAGE}) {{ nodes {{ id donorId amount currency donatedAt "
        "recordedAt } pageInfo { hasNextPage endCursor } } } }",
    )


def _combined(padding: int, kind: str) -> Candidate:
    """The costliest page the cost allows and the longest text the body allows, together."""
    text = "x" * padding
    page = (
        'd0: donor(id: "d") { id donationCount thankedAt totals { amount currency } '
        "donations(first: 100) { nodes { id donorId amount currency donatedAt recordedAt } "
        "pageInfo { hasNextPage endCursor } } }"
    )
    counts = " ".join(f'c{i}: donationCount(donorId: "c{i}")' for i in range(3))
    if kind == "string":
        return Candidate(
            "combined",
            f"a page of 100 donations with every field, 3 counts and a {padding / 1024:.0f} KiB "
            "string argument (cost 984)",
            f'{{ {page} {counts} pad: donationCount(donorId: "{text}") }}',
        )
    return Candidate(
        "combined",
        f"a page of 100 donations with every field, 4 counts and a {padding / 1024:.0f} KiB "
        "comment (cost 984)",
        f'{{ {page} {counts} c3: donationCount(donorId: "c3") }} #{text}',
    )


def families() -> list[Candidate]:
    """Each family at the sizes the limits allow (the limits decide; refused ones drop out)."""
    from schema.http import MAX_BODY_BYTES

    body_budget = MAX_BODY_BYTES - 200
    return [
        *(_same_name(n) for n in (16, 24, 32)),
        *(_nested_merge(c, k) for c, k in ((2, 16), (4, 8), (8, 4), (16, 2), (32, 1))),
        *(_fragment_fan_out(f, k) for f, k in ((32, 1), (16, 2), (8, 4), (4, 8))),
        *(_fragment_reuse(spreads) for spreads in (8, 13)),
        *(_deep_introspection(n) for n in (20, 60, 120)),
        _deepest_mutation(),
        *(_many_variables(n, used) for n in (100, 200, 210) for used in (False, True)),
        *(_big_variable_value(n) for n in (500, 1_200)),
        *(_many_operations(n) for n in (50, 150, 199)),
        *(_directives(n) for n in (5, 10)),
        *(_long_text(kind, body_budget) for kind in ("string", "block string", "comment")),
        _long_text("bad literal", body_budget),
        *(_errors(n) for n in (15, 32)),
        *(_storage_reads(donors, 16 - 4 * donors) for donors in range(5)),
        _full_page(),
        *(_combined(body_budget - 600, kind) for kind in ("string", "comment")),
    ]


# --- the property-based search ----------------------------------------------------------------


def _documents() -> Any:
    """Documents assembled from the families' pieces: storage reads, pages, aliases,
    fragments, repeated fields, directives, unused variables, long strings and comments."""
    from hypothesis import strategies as st

    donor_leaves = st.sampled_from(
        [
            "id",
            "donationCount",
            "thankedAt",
            "firstDonatedAt",
            "lastDonatedAt",
            "totals { amount currency }",
            "__typename",
        ]
    )
    node_fields = st.lists(
        st.sampled_from(["id", "donorId", "amount", "currency", "donatedAt", "recordedAt"]),
        min_size=1,
        max_size=6,
    )
    pages = st.builds(
        lambda first, fields, info: (
            f"donations(first: {first}) {{ nodes {{ {' '.join(fields)} }}"
            + (" pageInfo { hasNextPage endCursor } }" if info else " }")
        ),
        st.integers(1, FULL_PAGE),
        node_fields,
        st.booleans(),
    )
    donor_selection = st.lists(st.one_of(donor_leaves, pages), min_size=1, max_size=10)
    directive = st.sampled_from(["", "", " @include(if: true)", " @skip(if: false)"])
    roots = st.one_of(
        st.builds(lambda i, d: f'donationCount(donorId: "d{i}"){d}', st.integers(0, 40), directive),
        st.builds(
            lambda i, d, fields: f'donor(id: "d{i}"){d} {{ {" ".join(fields)} }}',
            st.integers(0, 40),
            directive,
            donor_selection,
        ),
        st.just("__typename"),
    )
    return st.builds(
        _assemble,
        fields=st.lists(roots, min_size=1, max_size=40),
        aliases=st.integers(0, 15),
        fragment_spreads=st.integers(0, 3),
        unused_variables=st.integers(0, 150),
        padding=st.sampled_from([0, 0, 1024, 8 * 1024, 12 * 1024]),
        padding_kind=st.sampled_from(["comment", "string"]),
    )


def _assemble(
    *,
    fields: list[str],
    aliases: int,
    fragment_spreads: int,
    unused_variables: int,
    padding: int,
    padding_kind: str,
) -> str:
    named = [f"a{i}: {text}" if i < aliases else text for i, text in enumerate(fields)]
    selection = " ".join(named)
    if padding and padding_kind == "string":
        selection += f' pad: donationCount(donorId: "{"x" * padding}")'
    variables = ", ".join(f"$v{i}: ID" for i in range(unused_variables))
    head = f"query Q({variables})" if variables else "query Q"
    if fragment_spreads:
        document = f"{head} {{ {'...F ' * fragment_spreads}}} fragment F on Query {{ {selection} }}"
    else:
        document = f"{head} {{ {selection} }}"
    if padding and padding_kind == "comment":
        document += " #" + "x" * padding
    return document


def _search(send: Send, examples: int) -> Candidate:
    """Hypothesis's targeted search (``target``) for the document that takes most CPU."""
    import graphql
    from hypothesis import HealthCheck, Phase, assume, given, settings, target

    from schema import build_schema
    from schema.limits import MAX_TOKENS, measure, refusal

    schema = build_schema()._schema
    best: list[tuple[float, str]] = []

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate, Phase.target],
        suppress_health_check=list(HealthCheck),
    )
    @given(query=_documents())
    def slowest(query: str) -> None:
        # The limits' own measure screens out what they would refuse, cheaply.
        try:
            document = graphql.parse(query, max_tokens=MAX_TOKENS)
            assume(refusal(measure(document, schema)) is None)
        except graphql.GraphQLError:
            assume(False)
        elapsed, status, reply = send(Candidate("", "", query).body(time.perf_counter_ns()))
        assume(accepted(reply, status))
        target(elapsed, label="cpu seconds")
        if not best or elapsed > best[0][0]:
            best[:] = [(elapsed, query)]

    slowest()
    query = best[0][1] if best else PLAIN
    return Candidate("property-based search", _describe(query), query)


def _describe(query: str) -> str:
    """A document's shape in numbers: what the report shows instead of its text."""
    import graphql

    from schema import build_schema
    from schema.limits import measure

    document = graphql.parse(query)
    measured = measure(document, build_schema()._schema)
    [operation, *_] = measured.operations
    return (
        f"{len(query) / 1024:.1f} KiB, {measured.selections} selections, {measured.directives}"
        f" directives, widest selection set {operation.widest_selection_set}, depth "
        f"{operation.depth}, {operation.aliases} aliases, cost {operation.cost}"
    )


# --- measuring ----------------------------------------------------------------------------------


@dataclass
class Tried:
    candidate: Candidate
    screening_ms: list[float] = field(default_factory=list)
    rounds_ms: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)


def _cpu_ms(send: Send, body: str) -> float:
    elapsed, _, _ = send(body)
    return elapsed * 1000


def _screen(send: Send, candidates: list[Candidate], runs: int) -> list[Tried]:
    """The accepted candidates, most expensive first (median CPU of a few fresh-text runs)."""
    tried = []
    for candidate in candidates:
        _, status, reply = send(candidate.body(0))
        if accepted(reply, status):
            runs_ms = [_cpu_ms(send, candidate.body(run + 1)) for run in range(runs)]
            tried.append(Tried(candidate, screening_ms=runs_ms))
    return sorted(tried, key=lambda t: statistics.median(t.screening_ms), reverse=True)


def run_worst_case(
    *, rounds: int, screen_runs: int, examples: int, contenders: int
) -> dict[str, Any]:
    """Screen every candidate, then time the most expensive few against the plain document,
    side by side in each of ``rounds`` rounds; the worst is the highest median ratio."""
    candidates = families()
    send = lambda_api()
    with stdout_discarded():
        plain_body = json.dumps({"query": PLAIN})
        for _ in range(50):
            send(plain_body)  # warm: imports, caches, botocore's models
        screened = _screen(send, [*candidates, _search(send, examples)], screen_runs)
        finalists = screened[:contenders]
        plain_ms: list[float] = []
        plain_fresh_ms: list[float] = []
        for round_index in range(rounds):
            gc.collect()
            plain = statistics.median(_cpu_ms(send, plain_body) for _ in range(5))
            plain_ms.append(plain)
            fresh = Candidate("", "", PLAIN).body(10_000 + round_index)
            plain_fresh_ms.append(_cpu_ms(send, fresh))
            for finalist in finalists:
                cpu = _cpu_ms(send, finalist.candidate.body(1_000 + round_index))
                finalist.rounds_ms.append(cpu)
                finalist.ratios.append(cpu / plain)
    worst = max(finalists, key=lambda t: statistics.median(t.ratios))
    plain_median = statistics.median(plain_ms)
    by_family: dict[str, dict[str, Any]] = {}
    for attempt in screened:  # most expensive first, so the first of a family is its worst
        by_family.setdefault(
            attempt.candidate.family,
            {
                "shape": attempt.candidate.shape,
                "ratio": round(statistics.median(attempt.screening_ms) / plain_median, 1),
            },
        )
    return {
        "worst": {
            "family": worst.candidate.family,
            "shape": worst.candidate.shape,
            "cpu_ms": summary(worst.rounds_ms, 2),
            "ratio": summary(worst.ratios),
        },
        "plain_ms": summary(plain_ms),
        "plain_fresh_text_ms": summary(plain_fresh_ms),
        "worst_by_family": by_family,
        "candidates": len(candidates),
        "accepted": len(screened) - 1,  # the search's best is always accepted
        "search_examples": examples,
        "goal": GOAL,
    }


def measure_worst_case(
    *, rounds: int = 9, screen_runs: int = 5, examples: int = 150, contenders: int = 3
) -> dict[str, Any]:
    """``run_worst_case`` in a child interpreter in Lambda mode, as ``bench.warm`` measures."""
    arguments = (rounds, screen_runs, examples, contenders)
    return run_measurement("bench.worst_case", *arguments, what="worst-case measurement")


if __name__ == "__main__":
    rounds, screen_runs, examples, contenders = (int(arg) for arg in sys.argv[1:5])
    figures = run_worst_case(
        rounds=rounds, screen_runs=screen_runs, examples=examples, contenders=contenders
    )
    sys.stdout.write(json.dumps(figures) + "\n")
