"""Shows every thank-you that reaches the emulated topic, via its subscribed queue."""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3

from donations.observability import logger


class ThankYouInbox:
    """Reads the queue subscribed to the thank-you topic: what a subscriber would receive."""

    def __init__(self, queue_url: str) -> None:
        self._client: Any = boto3.client("sqs")
        self._queue_url = queue_url
        self.received: list[dict[str, Any]] = []

    def collect(self) -> list[dict[str, Any]]:
        """Receive what is waiting, log one line per thank-you, and return them."""
        messages = self._client.receive_message(
            QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        arrived = []
        for message in messages:
            envelope = json.loads(message["Body"])
            attributes = envelope.get("MessageAttributes", {})
            thank_you = {
                "sns_message_id": envelope.get("MessageId"),
                "subject": envelope.get("Subject"),
                "event_type": attributes.get("event_type", {}).get("Value"),
                "milestone": attributes.get("milestone", {}).get("Value"),
                "donor_id": attributes.get("donor_id", {}).get("Value"),
                "body": envelope.get("Message"),
            }
            logger.info(
                "thank-you delivered to subscriber",
                extra={
                    "event": thank_you["event_type"],
                    "milestone": thank_you["milestone"],
                    "sns_message_id": thank_you["sns_message_id"],
                },
            )
            arrived.append(thank_you)
        if messages:
            # One request for the lot: every emulated call waits for the emulator's lock.
            self._client.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(number), "ReceiptHandle": message["ReceiptHandle"]}
                    for number, message in enumerate(messages)
                ],
            )
        self.received += arrived
        return arrived

    def run(self, stop: threading.Event, interval: float = 0.2) -> None:
        while not stop.is_set():
            try:
                self.collect()
            except Exception:
                logger.exception("thank-you inbox failed; retrying")
            stop.wait(interval)
