"""Injected AWS faults: bounded retries, then a clean retryable error; never a lost or double count.

Faults are injected with botocore event hooks on the very clients the composition root built:
``before-call`` answers an API call with an AWS error (what the adapter sees once botocore
has spent its own retries), ``before-send`` raises a network error (which botocore retries
for real), and ``after-call`` loses the response of a write that did land. (moto answers
every ``before-send`` too, so an error *response* injected there would still let the
emulated write happen.)
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from donations.container import aws_client_config
from local.inbox import ThankYouInbox
from local.stream_pump import StreamPump
from tests.support.api import RECORD_DONATION_LEAN, count, graphql
from tests.support.aws import EmulatedAccount

pytestmark = pytest.mark.usefixtures("aws")

INJECTED: Counter[str] = Counter()  # faults injected across this module, reported at the end

# How many tries botocore makes of one call, as donations.container configures it.
BOTOCORE_ATTEMPTS: int = aws_client_config().retries["total_max_attempts"]  # type: ignore[attr-defined]
ENDPOINT = "https://dynamodb.eu-west-2.amazonaws.com"

Reply = tuple[Any, dict[str, Any]]


def aws_error(code: str, **fields: Any) -> Reply:
    """An AWS error response as botocore hands it on after parsing (and after its retries)."""
    parsed = {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {}, **fields}
    return SimpleNamespace(status_code=400, headers={}), parsed


def conflict(items: int = 2) -> Reply:
    reasons = [{"Code": "None"}] * (items - 1) + [{"Code": "TransactionConflict", "Message": "x"}]
    return aws_error("TransactionCanceledException", CancellationReasons=reasons)


Fault = Callable[[], Reply | Exception]


@dataclass
class Injector:
    """Counts calls of one operation and answers the first `failures` of them with a fault."""

    fault: Fault
    failures: float = float("inf")
    calls: int = 0
    injected: int = 0

    def __call__(self, **_: Any) -> Reply | None:
        self.calls += 1
        if self.calls > self.failures:
            return None
        self.injected += 1
        outcome = self.fault()
        INJECTED[
            type(outcome).__name__
            if isinstance(outcome, Exception)
            else outcome[1]["Error"]["Code"]
        ] += 1
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


@dataclass
class Faults:
    """Hooks faults onto the clients of the running container; tallies what it injected."""

    client: Any
    backoffs: list[float] = field(default_factory=list)
    injectors: list[Injector] = field(default_factory=list)

    def _hook(self, client: Any, event: str, injector: Injector) -> Injector:
        client.meta.events.register_first(event, injector)
        self.injectors.append(injector)
        return injector

    def reply(self, operation: str, fault: Fault, failures: float = float("inf")) -> Injector:
        """Answer `operation` with an AWS error instead of calling DynamoDB."""
        return self._hook(
            self.client, f"before-call.dynamodb.{operation}", Injector(fault, failures)
        )

    def break_network(
        self, operation: str, error: type[Exception], failures: float = float("inf")
    ) -> Injector:
        """Fail the HTTP exchange of `operation`: nothing reaches the table."""
        injector = Injector(lambda: error(endpoint_url=ENDPOINT), failures)
        return self._hook(self.client, f"before-send.dynamodb.{operation}", injector)

    def lose_response_of(self, operation: str, times: int = 1) -> Injector:
        """The write lands (moto's own before-send hook runs first), then the response is lost
        to a read timeout, which botocore retries with the same ClientRequestToken."""
        injector = Injector(lambda: ReadTimeoutError(endpoint_url=ENDPOINT), times)
        self.client.meta.events.register_last(f"before-send.dynamodb.{operation}", injector)
        self.injectors.append(injector)
        return injector

    @property
    def injected(self) -> int:
        return sum(injector.injected for injector in self.injectors)


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    summary = ", ".join(f"{n} {kind}" for kind, n in INJECTED.most_common())
    print(f"\nfaults: {INJECTED.total()} injected ({summary})")  # noqa: T201


# How many times the store tries a transaction that keeps conflicting (its default).
STORE_ATTEMPTS = 6


@pytest.fixture
def faults(aws: EmulatedAccount, monkeypatch: pytest.MonkeyPatch) -> Faults:
    faults = Faults(aws.clients.dynamodb)
    # Retries back off for real; record the waits instead of sleeping through them.
    monkeypatch.setattr("botocore.endpoint.time", SimpleNamespace(sleep=faults.backoffs.append))
    aws.compose(sleep=faults.backoffs.append)
    return faults


def donate(donor_id: str, key: str | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {"donorId": donor_id, "amount": "12.34"}
    if key:
        fields["idempotencyKey"] = key
    return graphql(RECORD_DONATION_LEAN, {"input": fields}, request_id="req-fault").json


def donation_items(donor_id: str) -> int:
    items = boto3.client("dynamodb").scan(TableName="donations-test")["Items"]
    return sum(
        1 for item in items if item["pk"]["S"] == f"DONOR#{donor_id}" and item["sk"]["S"] != "DONOR"
    )


def assert_unavailable(response: dict[str, Any]) -> None:
    [error] = response["errors"]
    assert error["extensions"] == {
        "code": "SERVICE_UNAVAILABLE",
        "retryable": True,
        "requestId": "req-fault",
    }
    assert "Throttl" not in error["message"]
    assert response["data"] is None


# --- DynamoDB throttling ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    ["ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded"],
)
def test_persistent_throttling_is_retried_by_botocore_then_a_clean_retryable_error(
    faults: Faults, code: str
) -> None:
    throttle = faults.reply("TransactWriteItems", lambda: aws_error(code))

    response = donate("donor-throttled")

    assert_unavailable(response)
    # botocore has already retried it: retrying an exhausted throttle again would multiply
    # the load on a table that is already over its capacity.
    assert throttle.calls == 1
    assert count("donor-throttled") == 0
    assert donation_items("donor-throttled") == 0


def test_a_brief_network_fault_is_retried_by_botocore_and_counts_once(faults: Faults) -> None:
    throttle = faults.break_network("TransactWriteItems", ConnectTimeoutError, 2)

    response = donate("donor-brief")

    assert response["data"]["recordDonation"]["__typename"] == "RecordDonationSuccess"
    assert throttle.injected == 2
    assert count("donor-brief") == 1
    assert donation_items("donor-brief") == 1


def test_throttled_reads_are_a_clean_retryable_error(faults: Faults) -> None:
    faults.reply("GetItem", lambda: aws_error("ProvisionedThroughputExceededException"))

    response = graphql('{ donationCount(donorId: "donor-read") }', request_id="req-fault").json

    assert_unavailable(response)


# --- TransactionConflict ----------------------------------------------------------------------


def test_persistent_transaction_conflicts_are_retried_a_bounded_number_of_times(
    faults: Faults,
) -> None:
    conflicts = faults.reply("TransactWriteItems", conflict)

    response = donate("donor-contended")

    assert_unavailable(response)
    assert conflicts.calls == STORE_ATTEMPTS
    assert len(faults.backoffs) == conflicts.calls - 1
    assert count("donor-contended") == 0


def test_a_few_conflicts_are_retried_and_count_once(faults: Faults) -> None:
    conflicts = faults.reply("TransactWriteItems", lambda: conflict(3), 3)

    response = donate("donor-busy", key="key-busy-0001")

    assert response["data"]["recordDonation"]["__typename"] == "RecordDonationSuccess"
    assert conflicts.injected == 3
    assert count("donor-busy") == 1
    assert donation_items("donor-busy") == 1


# --- timeouts and unreachable endpoints -------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [ReadTimeoutError, ConnectTimeoutError, EndpointConnectionError],
    ids=lambda error: error.__name__,
)
def test_an_unreachable_table_is_a_clean_retryable_error(
    faults: Faults, error: type[Exception]
) -> None:
    unreachable = faults.break_network("TransactWriteItems", error)

    response = donate("donor-offline")

    assert_unavailable(response)
    assert unreachable.calls == BOTOCORE_ATTEMPTS
    assert count("donor-offline") == 0


@pytest.mark.parametrize("key", [None, "key-lost-response-1"])
def test_a_write_whose_response_was_lost_counts_once(faults: Faults, key: str | None) -> None:
    lost = faults.lose_response_of("TransactWriteItems")

    response = donate("donor-lost", key)

    # botocore retries the call with the same ClientRequestToken, which DynamoDB (and moto)
    # answer with the first outcome instead of writing again.
    assert lost.injected == 1
    assert response["data"]["recordDonation"]["__typename"] == "RecordDonationSuccess"
    assert count("donor-lost") == 1
    assert donation_items("donor-lost") == 1


# --- a storm of mixed faults, with clients retrying as told -----------------------------------


def test_a_storm_of_mixed_faults_never_loses_or_double_counts_a_donation(faults: Faults) -> None:
    rng = random.Random(20261122)
    plan: list[str] = []
    errors = {
        "throttle": "ThrottlingException",
        "capacity": "ProvisionedThroughputExceededException",
    }
    network = {"timeout": ReadTimeoutError, "unreachable": EndpointConnectionError}

    def before_call(**_: Any) -> Reply | None:
        plan.append(rng.choice([*errors, "conflict", *network, "lost-response", "ok", "ok"]))
        if plan[-1] in errors:
            return aws_error(errors[plan[-1]])
        return conflict(3) if plan[-1] == "conflict" else None

    def before_send(**_: Any) -> None:
        if plan[-1] in network:
            raise network[plan[-1]](endpoint_url=ENDPOINT)

    def after_call(**_: Any) -> None:
        if plan[-1] == "lost-response":
            raise ReadTimeoutError(endpoint_url=ENDPOINT)

    client = faults.client
    client.meta.events.register_first("before-call.dynamodb.TransactWriteItems", before_call)
    client.meta.events.register_first("before-send.dynamodb.TransactWriteItems", before_send)
    client.meta.events.register_first("after-call.dynamodb.TransactWriteItems", after_call)

    donors = [f"donor-storm-{n}" for n in range(8)]
    recorded: Counter[str] = Counter()
    for n in range(40):
        donor = donors[n % len(donors)]
        for _attempt in range(30):  # a client that retries with its key while told to
            response = donate(donor, key=f"storm-key-{n:04d}")
            if "errors" not in response:
                assert response["data"]["recordDonation"]["__typename"] == "RecordDonationSuccess"
                recorded[donor] += 1
                break
            assert response["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        else:
            pytest.fail(f"donation {n} never got through")

    for hook, handler in [("before-call", before_call), ("after-call", after_call)]:
        client.meta.events.unregister(f"{hook}.dynamodb.TransactWriteItems", handler)
    kinds = Counter(plan)
    INJECTED.update({kind: n for kind, n in kinds.items() if kind != "ok"})
    assert sum(kinds.values()) - kinds["ok"] > 40
    assert recorded.total() == 40
    for donor in donors:
        assert count(donor) == recorded[donor] == 5
        assert donation_items(donor) == 5


# --- SNS --------------------------------------------------------------------------------------


def test_sns_throttling_never_fails_a_donation_and_the_thank_you_goes_out_once(
    aws: EmulatedAccount,
) -> None:
    assert aws.clients.sns is not None
    throttled = Injector(lambda: aws_error("Throttling"), failures=2)
    aws.clients.sns.meta.events.register_first("before-call.sns.Publish", throttled)
    pump = StreamPump(aws.stream_arn, aws.thank_you_handler, retry_delay=0)
    inbox = ThankYouInbox(aws.queue_url)

    first, second = donate("donor-sns"), donate("donor-sns")
    pump.drain()
    while inbox.collect():
        pass

    assert "errors" not in first
    assert "errors" not in second
    assert throttled.injected == 2  # two deliveries of the crossing record failed
    assert pump.dead_letters == []
    assert len(inbox.received) == 1
    assert count("donor-sns") == 2


def test_persistent_sns_errors_reach_the_dead_letter_queue_and_never_touch_the_api(
    aws: EmulatedAccount,
) -> None:
    assert aws.clients.sns is not None
    aws.clients.sns.meta.events.register_first(
        "before-call.sns.Publish", Injector(lambda: aws_error("KMSThrottlingException"))
    )
    pump = StreamPump(aws.stream_arn, aws.thank_you_handler, retry_delay=0, max_retries=2)

    responses = [donate("donor-sns-down") for _ in range(3)]
    pump.drain()

    assert all("errors" not in response for response in responses)
    assert count("donor-sns-down") == 3
    # From the crossing record on, the batch goes to the dead-letter queue for the re-drive.
    assert pump.dead_letters
    assert pump.dead_letters[0]["dynamodb"]["OldImage"]["donationCount"] == {"N": "1"}
