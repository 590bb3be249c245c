"""The emulated AWS account of `make run`, and the threads that stand in for Lambda and SNS."""

from __future__ import annotations

import os
import threading
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from donations.constants import ENV_AWS_ENDPOINT_URL, ENV_TABLE_NAME, PARTITION_KEY, SORT_KEY

if TYPE_CHECKING:
    from local.persistence import EmulatorData, Restored

# A stop delivers what the stream still holds; each round may write more (a thank-you marks
# its donor), so it goes on until a round finds nothing, up to this many rounds.
_FINAL_DRAIN_ROUNDS = 20


class EmulatedAws:
    """The emulated resources plus the threads that stand in for Lambda and SNS.

    With ``data`` the table is restored from that folder at start (emptied first if
    ``fresh``) and kept there at stop (local.persistence).
    """

    def __init__(
        self,
        *,
        stream_interval: float = 0.2,
        inbox_interval: float = 0.5,
        data: EmulatorData | None = None,
        fresh: bool = False,
    ) -> None:
        self._stack = ExitStack()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._intervals = {"stream-pump": stream_interval, "thank-you-inbox": inbox_interval}
        self._data = data
        self._fresh = fresh
        self._keeping = False
        self.restored: Restored | None = None
        self.redriven = 0
        self.saved: int | None = None
        self.pump: Any = None
        self.inbox: Any = None
        self.endpoint: Any = None

    @property
    def data(self) -> EmulatorData | None:
        return self._data

    def start(self) -> None:
        """Raises ``OSError`` (endpoint port taken), ``DataFolderBusyError`` or
        ``UnreadableSnapshotError``; call ``stop`` afterwards either way."""
        from moto import mock_aws

        from local.emulator import create_resources, use_fake_credentials
        from local.endpoint import EmulatorEndpoint, emulator_port
        from local.inbox import ThankYouInbox
        from local.stream_pump import MotoShardReader, StreamPump

        use_fake_credentials()
        self._stack.enter_context(mock_aws())
        restore: list[dict[str, Any]] = []
        if self._data is not None:
            self._data.claim()
            self._stack.callback(self._data.close)
            if self._fresh:
                self._data.discard()
            self.restored = self._data.load()
            restore = self.restored.items
        resources = create_resources(restore=restore)
        if self._data is not None:
            if self.restored is not None and self.restored.changes:
                self._data.save(restore)
            self._data.open_change_log()
            self._keeping = True
        # Other processes (operator commands, the AWS CLI) reach the same account here.
        self.endpoint = EmulatorEndpoint(port=emulator_port())
        self.endpoint.start()
        self.pump = StreamPump(
            resources.stream_arn,
            _thank_you_handler_without_metrics,
            reader=MotoShardReader(resources.stream_arn),
            on_read=self._data.record_changes if self._data is not None else None,
        )
        self.inbox = ThankYouInbox(resources.queue_url)
        for name, target in (("stream-pump", self.pump.run), ("thank-you-inbox", self.inbox.run)):
            thread = threading.Thread(
                target=target, args=(self._stop, self._intervals[name]), name=name, daemon=True
            )
            thread.start()
            self._threads.append(thread)
        if self.restored is not None and self.restored.unclean:
            self.redriven = self._redrive()

    @staticmethod
    def _redrive() -> int:
        """Thank donors whose crossing was in a stream record the last run never delivered."""
        from donations.container import services
        from donations.domain.thank_you import ThankYouOutcome
        from donations.observability import report_thank_you

        thank_you = services().thank_you
        sent = 0
        if thank_you is not None:
            for result in thank_you.redrive():
                report_thank_you(result)
                sent += result.outcome is ThankYouOutcome.SENT
        return sent

    def stop(self) -> None:
        """Stop taking requests from other processes, deliver what the stream still holds,
        keep the table (when it has a data folder), and end the emulation."""
        if self.endpoint is not None:
            self.endpoint.stop()
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        try:
            self._deliver_the_rest()
            if self._keeping and self._data is not None:
                self.saved = self._data.compact()
        finally:
            self._stack.close()

    def _deliver_the_rest(self) -> None:
        if self.pump is not None and not any(thread.is_alive() for thread in self._threads):
            for _ in range(_FINAL_DRAIN_ROUNDS):
                if not self.pump.drain():
                    break
        if self.inbox is not None:
            while self.inbox.collect():
                pass


def _thank_you_handler_without_metrics(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The thank-you handler; then the process's metrics buffer is emptied.

    Metrics are off locally, but Powertools prints its buffer once it holds 100 values
    whatever the setting, and with metrics off its flush never empties it: the API's and the
    handler's counts would turn up as a block of EMF JSON in the log every few minutes.
    """
    import handler
    from donations.observability import metrics

    try:
        response: dict[str, Any] = handler.thank_you_handler(event, context)
        return response
    finally:
        metrics.clear_metrics()


def data_folder() -> EmulatorData:
    from local.persistence import EmulatorData, data_dir

    return EmulatorData(data_dir(), (PARTITION_KEY, SORT_KEY))


def emulating() -> bool:
    return not (os.environ.get(ENV_TABLE_NAME) or os.environ.get(ENV_AWS_ENDPOINT_URL))
