"""`make run`'s readable log lines and whole-line output (local/log_format.py)."""

from __future__ import annotations

import io
import logging
import threading
import time

from local.log_format import ReadableLogFormatter, WholeLineWriter


def rendered(message: str, created: float | None = None, **fields: object) -> str:
    record = logging.LogRecord("donations", logging.INFO, __file__, 1, message, None, None)
    record.__dict__.update(fields)
    if created is not None:
        record.created = created
        record.msecs = (created - int(created)) * 1000
    return ReadableLogFormatter().format(record)


def test_a_request_is_one_short_line() -> None:
    line = rendered(
        "http request",
        method="POST",
        path="/graphql",
        status=200,
        duration_ms=12.345,
        correlation_id="req-1",
        function_name="donations-local",
    )

    assert line.endswith(" POST /graphql 200 12.3 ms req=req-1")
    assert "function_name" not in line


def test_a_thank_you_names_the_donor_by_ref_then_the_milestone() -> None:
    line = rendered(
        "thank-you sent",
        event="thank_you",
        outcome="sent",
        milestone=2,
        sns_message_id="m-1",
        donor_ref="3fa9c1e0b2d4a817",
        api_request_id="req-2",
    )

    assert line.endswith(" thank-you sent donor_ref=3fa9c1e0b2d4a817 milestone=2 req=req-2")


def test_the_time_is_the_record_s_to_the_millisecond() -> None:
    created = time.mktime((2026, 12, 2, 18, 39, 13, 0, 0, -1)) + 0.989

    assert rendered("tick", created).startswith("18:39:13.989 tick")


def test_print_and_log_lines_from_two_threads_stay_whole() -> None:
    out = io.StringIO()
    writer = WholeLineWriter(out)

    def print_like(text: str) -> None:
        for _ in range(200):
            writer.write(text)  # print() writes the text, then the newline
            writer.write("\n")

    threads = [threading.Thread(target=print_like, args=(text,)) for text in ("{a}", "{b}")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(set(out.getvalue().splitlines())) == ["{a}", "{b}"]


def test_metrics_documents_are_dropped_when_metrics_are_off() -> None:
    out = io.StringIO()
    writer = WholeLineWriter(out, drop_metrics=True)

    writer.write('{"_aws":{"CloudWatchMetrics":[]},"ColdStart":[1.0]}\n12:00:00.000 tick\n')

    assert out.getvalue() == "12:00:00.000 tick\n"
