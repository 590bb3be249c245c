"""Fixtures shared by every tier: emulated AWS and the composition root reset per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.support.aws import EmulatedAccount

# Before anything imports boto3 or Powertools: fake credentials, no X-Ray, no metrics noise.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-2",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_DEV": "false",
    }
)
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)


@pytest.fixture
def aws() -> Iterator[EmulatedAccount]:
    """A fresh emulated account (table with stream, topic, subscribed queue) and the service
    composed over it: ``tests.support.api`` sends its requests to this account's handler."""
    from moto import mock_aws

    from local.emulator import create_resources
    from tests.support.aws import EmulatedAccount, emulated_clients

    with mock_aws():
        resources = create_resources("donations-test")
        yield EmulatedAccount(resources, emulated_clients())
