"""The emulated AWS account of `make run`, and the threads that stand in for Lambda and SNS."""

from __future__ import annotations

import os
import threading
from contextlib import ExitStack
from typing import Any

from donations.constants import ENV_AWS_ENDPOINT_URL, ENV_TABLE_NAME


class EmulatedAws:
    """The emulated AWS resources plus the threads that stand in for Lambda and SNS."""

    def __init__(self, *, stream_interval: float = 0.2) -> None:
        self._stack = ExitStack()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._interval = stream_interval
        self.pump: Any = None
        self.inbox: Any = None
        self.endpoint: Any = None

    def start(self) -> None:
        from moto import mock_aws

        from local.emulator import create_resources, use_fake_credentials
        from local.endpoint import EmulatorEndpoint, emulator_port
        from local.inbox import ThankYouInbox
        from local.stream_pump import StreamPump

        use_fake_credentials()
        self._stack.enter_context(mock_aws())
        resources = create_resources()
        # Other processes (operator commands, the AWS CLI) reach the same account here.
        self.endpoint = EmulatorEndpoint(port=emulator_port())
        self._stack.callback(self.endpoint.stop)
        self.endpoint.start()
        import handler

        self.pump = StreamPump(resources.stream_arn, handler.thank_you_handler)
        self.inbox = ThankYouInbox(resources.queue_url)
        for name, target in (("stream-pump", self.pump.run), ("thank-you-inbox", self.inbox.run)):
            thread = threading.Thread(
                target=target, args=(self._stop, self._interval), name=name, daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._stack.close()


def emulating() -> bool:
    return not (os.environ.get(ENV_TABLE_NAME) or os.environ.get(ENV_AWS_ENDPOINT_URL))
