"""An emulated AWS account with the service composed over it, the way Lambda composes it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

import handler
from donations.container import AwsClients, Services, aws_client_config, build_services
from donations.settings import Settings
from local.emulator import EmulatedResources
from local.lambda_context import LocalLambdaContext
from tests.support import api


@dataclass
class EmulatedAccount:
    """moto's table, stream, topic and queue, the clients the service uses, and its handlers.

    The clients are built here and handed to the composition root, so a test can hook
    botocore events on exactly the clients the service calls through (``clients.dynamodb``).
    """

    resources: EmulatedResources
    clients: AwsClients
    services: Services = field(init=False)
    api_handler: handler.LambdaHandler = field(init=False)
    thank_you_handler: handler.LambdaHandler = field(init=False)

    def __post_init__(self) -> None:
        self.compose()

    def compose(self, *, sleep: Callable[[float], None] = time.sleep) -> Services:
        """(Re)build the services and both handlers from the environment, as a cold start does."""
        self.services = build_services(Settings.from_env(), self.clients, sleep=sleep)
        self.api_handler = handler.create_api_handler(self.services)
        self.thank_you_handler = handler.create_thank_you_handler(self.services)
        api.serve_with(self.api_handler)
        return self.services

    def deliver(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Hand stream records to the thank-you handler as one Lambda batch."""
        return self.thank_you_handler({"Records": records}, LocalLambdaContext())

    @property
    def stream_arn(self) -> str:
        return self.resources.stream_arn

    @property
    def queue_url(self) -> str:
        return self.resources.queue_url


def emulated_clients() -> AwsClients:
    config = aws_client_config()
    return AwsClients(
        dynamodb=boto3.client("dynamodb", config=config),
        sns=boto3.client("sns", config=config),
        secretsmanager=boto3.client("secretsmanager", config=config),
    )
