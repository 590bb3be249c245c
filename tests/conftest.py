"""Fixtures shared by every tier: emulated AWS and the composition root reset per test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

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
def aws() -> Iterator[object]:
    """A fresh emulated account: table with stream, topic, subscribed queue."""
    from moto import mock_aws

    import handler
    from donations.container import services
    from local.emulator import create_resources

    with mock_aws():
        resources = create_resources("donations-test")
        services.cache_clear()
        handler._api.cache_clear()
        yield resources
        services.cache_clear()
        handler._api.cache_clear()
