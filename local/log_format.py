"""`make run`'s log lines: JSON, as in Lambda, or one short readable line per event.

``LOG_FORMAT=text`` (the default when the log goes to a terminal) renders each event as

    17:32:01.123 POST /graphql 200 12.3 ms req=5f0c…
    17:32:01.456 thank-you sent donor_ref=3fa9c1e0b2d4a817 milestone=2 req=5f0c…

``LOG_FORMAT=json`` (the default otherwise: files, pipes, tests) keeps Powertools' JSON.
The text lines are rendered from the same fields as the JSON ones, through Powertools'
own formatter (``LambdaPowertoolsFormatter.serialize`` is the one step replaced), so they
can say nothing the JSON lines would not: donors appear only as ``donor_ref``.
"""

from __future__ import annotations

import io
import os
import sys
import threading
from typing import IO, TYPE_CHECKING, Any, Final

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

if TYPE_CHECKING:
    from aws_lambda_powertools.logging.types import LogRecord

ENV_LOG_FORMAT: Final = "LOG_FORMAT"
LOG_FORMATS: Final = ("text", "json")

# Fields every line has, or that only make sense to a machine (Lambda's context, X-Ray).
_NOT_SHOWN: Final = frozenset(
    {
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "cold_start",
        "sampling_rate",
        "xray_trace_id",
        "function_name",
        "function_memory_size",
        "function_arn",
        "function_request_id",
        "correlation_id",
        "api_request_id",
        "exception",
        "exception_name",
        "exception_notes",
        "stack_trace",
        # A thank-you line's message already says what happened.
        "event",
        "outcome",
        "sns_message_id",
    }
)
# How a CloudWatch embedded-metric-format document printed by Powertools begins.
_EMF: Final = '{"_aws":'
# The request log's fields, shown as "POST /graphql 200 12.3 ms".
_REQUEST_FIELDS: Final = ("method", "route", "path", "status", "duration_ms")


class ReadableLogFormatter(LambdaPowertoolsFormatter):
    """Powertools' formatter with one short line of text in place of the JSON document."""

    def __init__(self) -> None:
        # Powertools' %F is milliseconds; its datetime-directive path adds them to the time
        # a second time, so this stays on the time.strftime path.
        super().__init__(datefmt="%H:%M:%S.%F")

    def serialize(self, log: LogRecord) -> str:
        fields: dict[str, Any] = dict(log)
        parts = [str(fields.get("timestamp", ""))]
        level = fields.get("level")
        if level not in (None, "INFO"):
            parts.append(str(level))
        if fields.get("message") == "http request":
            parts += _request_summary(fields)
        else:
            parts.append(str(fields.get("message", "")))
        parts += _other_fields(fields)
        request_id = fields.get("correlation_id") or fields.get("api_request_id")
        if request_id:
            parts.append(f"req={request_id}")
        line = " ".join(parts)
        if fields.get("exception"):
            line += "\n" + str(fields["exception"])
        return line


def _request_summary(fields: dict[str, Any]) -> list[str]:
    summary = [
        str(fields.get("method", "")),
        str(fields.get("route") or fields.get("path") or ""),
        str(fields.get("status", "")),
    ]
    if "duration_ms" in fields:
        summary.append(f"{float(fields['duration_ms']):.1f} ms")
    return summary


def _other_fields(fields: dict[str, Any]) -> list[str]:
    shown = [name for name in fields if name not in _NOT_SHOWN and name not in _REQUEST_FIELDS]
    # Who, then what: "donor_ref=… milestone=2".
    shown.sort(key=lambda name: name != "donor_ref")
    return [f"{name}={fields[name]}" for name in shown]


def chosen_log_format(stream: IO[str]) -> str:
    """``LOG_FORMAT`` if set, else text for a terminal and JSON for anything else.

    Raises ``ValueError`` for a value other than text or json.
    """
    chosen = os.environ.get(ENV_LOG_FORMAT, "").strip().lower()
    if not chosen:
        return "text" if stream.isatty() else "json"
    if chosen not in LOG_FORMATS:
        raise ValueError(f"{ENV_LOG_FORMAT} must be text or json, not {chosen!r}")
    return chosen


def use_readable_logs(logger: Any) -> None:
    """Render this Powertools logger's lines as text from now on."""
    logger.registered_handler.setFormatter(ReadableLogFormatter())


class WholeLineWriter(io.TextIOBase):
    """Passes text on a whole line at a time, one thread at a time.

    ``print`` writes a line's text and its newline in two calls; Powertools prints its
    metrics that way from whichever thread adds the hundredth value. Between those two
    calls another thread's log line could land, gluing two lines into one that neither a
    person nor a JSON reader can use.
    """

    def __init__(self, stream: IO[str], *, drop_metrics: bool = False) -> None:
        super().__init__()
        self._stream = stream
        self._drop_metrics = drop_metrics
        self._lock = threading.Lock()
        self._pending = threading.local()

    def write(self, text: str) -> int:
        pending = getattr(self._pending, "text", "") + text
        complete, newline, rest = pending.rpartition("\n")
        self._pending.text = rest
        if newline:
            lines = complete + newline
            if self._drop_metrics:
                lines = "".join(
                    line for line in lines.splitlines(keepends=True) if not line.startswith(_EMF)
                )
            with self._lock:
                self._stream.write(lines)
                self._stream.flush()
        return len(text)

    def flush(self) -> None:
        rest = getattr(self._pending, "text", "")
        self._pending.text = ""
        with self._lock:
            if rest:
                self._stream.write(rest)
            self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()


def write_whole_lines(logger: Any) -> None:
    """Route stdout, and this Powertools logger's lines, through one ``WholeLineWriter``.

    With ``POWERTOOLS_METRICS_DISABLED`` (as `make run` sets it) metrics documents are
    dropped: Powertools prints its cold-start metric whatever that setting says.
    """
    disabled = os.environ.get("POWERTOOLS_METRICS_DISABLED", "").strip().lower() == "true"
    writer = WholeLineWriter(sys.stdout, drop_metrics=disabled)
    sys.stdout = writer
    logger.registered_handler.setStream(writer)
