"""Amazon SNS implementation of the thank-you sender."""

from __future__ import annotations

from typing import TYPE_CHECKING

from donations.domain.ports import ThankYouSender
from donations.domain.thanks import ThankYouMessage

if TYPE_CHECKING:
    from mypy_boto3_sns.client import SNSClient


class SnsThankYouSender(ThankYouSender):
    """Publishes thank-yous to one topic.

    ``donor_id`` and ``milestone`` travel as message attributes so that a per-donor
    delivery (an e-mail or SMS sender subscribed to the topic, or a filter policy on a
    subscription) can route the message without parsing its body.
    """

    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    def send(self, message: ThankYouMessage) -> str:
        attributes = {**message.attributes(), "donor_id": message.donor_id}
        response = self._client.publish(
            TopicArn=self._topic_arn,
            Subject=message.subject,
            Message=message.body,
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value}
                for name, value in attributes.items()
            },
        )
        return response["MessageId"]
