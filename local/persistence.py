"""Keeps `make run`'s emulated table across restarts: a snapshot plus a log of its changes.

moto keeps nothing on disk. The table's own stream already carries every change in order
(NEW_AND_OLD_IMAGES), so the stream pump hands each batch it reads to ``record_changes``
before the thank-you handler sees it, and this appends one line per change to
``changes.jsonl``: the item's key and its new image (none for a deletion). At a clean stop,
and at the next start, the log is folded into ``table.jsonl`` (one item per line, written to
a temporary file and renamed into place) and emptied.

At start the items come back through BatchWriteItem into a table whose stream is enabled only
afterwards: restored items make no stream records, so they thank no one twice, and the stream
pump starts after the restore point. What the folder does not keep: the stream's records,
the queue's messages and the topic (recreated empty, with the same names and ARNs), and
anything moto holds besides the table.

If the last run did not stop cleanly (its log still had changes), a donor may have crossed
the threshold in a stream record that was never delivered; ``Restored.unclean`` tells the
caller to run the re-drive, which thanks exactly the donors who were never thanked.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

ENV_DATA_DIR: Final = "EMULATOR_DATA_DIR"
ENV_FRESH: Final = "FRESH"
DEFAULT_DATA_DIR: Final = Path(__file__).resolve().parents[1] / ".local" / "emulator"
SNAPSHOT: Final = "table.jsonl"
CHANGES: Final = "changes.jsonl"
SNAPSHOT_FORMAT: Final = 1

WireItem = dict[str, Any]


class DataFolderBusyError(RuntimeError):
    """Another running server keeps its data in the same folder."""


class UnreadableSnapshotError(ValueError):
    """The snapshot is damaged or of a format this version cannot read; it is left alone."""


def data_dir() -> Path:
    return Path(os.environ.get(ENV_DATA_DIR) or DEFAULT_DATA_DIR)


def fresh_start() -> bool:
    return os.environ.get(ENV_FRESH, "").strip().lower() in {"1", "true", "yes"}


# On disk binary attributes are base64 text, as in DynamoDB's own JSON, so the files stay
# JSON and `aws dynamodb` could read them. boto3 and moto hand them over as bytes, Lambda's
# events as base64 text already.
def _item_to_json(item: WireItem) -> WireItem:
    return {name: _value_to_json(value) for name, value in item.items()}


def _base64(value: bytes | str) -> str:
    return base64.b64encode(value).decode() if isinstance(value, bytes) else value


def _value_to_json(attribute: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {}
    for kind, value in attribute.items():
        if kind == "B":
            converted[kind] = _base64(value)
        elif kind == "BS":
            converted[kind] = [_base64(inner) for inner in value]
        elif kind == "M":
            converted[kind] = _item_to_json(value)
        elif kind == "L":
            converted[kind] = [_value_to_json(inner) for inner in value]
        else:
            converted[kind] = value
    return converted


def _item_from_json(item: WireItem) -> WireItem:
    return {name: _value_from_json(value) for name, value in item.items()}


def _value_from_json(attribute: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {}
    for kind, value in attribute.items():
        if kind == "B":
            converted[kind] = base64.b64decode(value)
        elif kind == "BS":
            converted[kind] = [base64.b64decode(inner) for inner in value]
        elif kind == "M":
            converted[kind] = _item_from_json(value)
        elif kind == "L":
            converted[kind] = [_value_from_json(inner) for inner in value]
        else:
            converted[kind] = value
    return converted


def _identity(keys: WireItem) -> str:
    return json.dumps(_item_to_json(keys), sort_keys=True)


@dataclass(frozen=True)
class Restored:
    """What the folder held: the table's items, and whether the last run stopped cleanly."""

    items: list[WireItem]
    changes: int
    saved_at: str | None

    @property
    def unclean(self) -> bool:
        return self.changes > 0


class EmulatorData:
    """The folder that keeps the emulated table's items between runs of `make run`."""

    def __init__(self, folder: Path, key_names: tuple[str, ...]) -> None:
        self.folder = folder
        self._key_names = key_names
        self._lock: IO[str] | None = None
        self._log: IO[str] | None = None

    @property
    def snapshot_path(self) -> Path:
        return self.folder / SNAPSHOT

    @property
    def changes_path(self) -> Path:
        return self.folder / CHANGES

    def claim(self) -> None:
        """Hold the folder for this process; ``DataFolderBusyError`` if another holds it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        lock = (self.folder / "lock").open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise DataFolderBusyError(str(self.folder)) from None
        self._lock = lock

    def discard(self) -> None:
        """Forget what the folder holds (``FRESH=1``)."""
        for path in (self.snapshot_path, self.changes_path):
            path.unlink(missing_ok=True)

    def load(self) -> Restored:
        """The table's items as the last run left them: the snapshot, then its changes."""
        items: dict[str, WireItem] = {}
        saved_at = None
        if self.snapshot_path.exists():
            unreadable = UnreadableSnapshotError(
                f"{self.snapshot_path} is not a snapshot this version can read; "
                "move it away or start with FRESH=1"
            )
            with self.snapshot_path.open() as snapshot:
                try:
                    header = json.loads(snapshot.readline() or "{}")
                    if header.get("format") != SNAPSHOT_FORMAT:
                        raise unreadable
                    saved_at = header.get("savedAt")
                    for line in snapshot:
                        item = _item_from_json(json.loads(line))
                        items[_identity(self._key_of(item))] = item
                except (ValueError, TypeError, AttributeError, KeyError) as error:
                    raise unreadable from error
        changes = 0
        for keys, image in self._changes():
            changes += 1
            if image is None:
                items.pop(_identity(keys), None)
            else:
                items[_identity(keys)] = image
        return Restored(items=list(items.values()), changes=changes, saved_at=saved_at)

    def _key_of(self, item: WireItem) -> WireItem:
        return {name: item[name] for name in self._key_names if name in item}

    def _changes(self) -> Iterator[tuple[WireItem, WireItem | None]]:
        if not self.changes_path.exists():
            return
        with self.changes_path.open() as log:
            for line in log:
                try:
                    change = json.loads(line)
                except json.JSONDecodeError:
                    # The last line of a run that was killed mid-write: that change is lost,
                    # as it would be from any write that had not reached the disk.
                    break
                image = change.get("new")
                yield _item_from_json(change["keys"]), _item_from_json(image) if image else None

    def save(self, items: Iterable[WireItem]) -> int:
        """Replace the snapshot with these items and empty the change log; the item count."""
        self.folder.mkdir(parents=True, exist_ok=True)
        written = 0
        partial = self.snapshot_path.with_suffix(".partial")
        with partial.open("w") as snapshot:
            header = {"format": SNAPSHOT_FORMAT, "savedAt": datetime.now(UTC).isoformat()}
            snapshot.write(json.dumps(header) + "\n")
            for item in items:
                snapshot.write(json.dumps(_item_to_json(item), separators=(",", ":")) + "\n")
                written += 1
            snapshot.flush()
            os.fsync(snapshot.fileno())
        # The rename is atomic: a stop interrupted before it leaves the old snapshot and the
        # change log, which together still hold every change.
        partial.replace(self.snapshot_path)
        if self._log is not None:
            self._log.seek(0)
            self._log.truncate()
        else:
            self.changes_path.unlink(missing_ok=True)
        return written

    def compact(self) -> int:
        """Fold the change log into the snapshot; the number of items it now holds."""
        return self.save(self.load().items)

    def open_change_log(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._log = self.changes_path.open("a")

    def record_changes(self, records: list[dict[str, Any]]) -> None:
        """Append the changes these stream records carry (Lambda's record shape)."""
        if self._log is None or not records:
            return
        lines = []
        for record in records:
            change = record["dynamodb"]
            image = change.get("NewImage") if record["eventName"] != "REMOVE" else None
            entry = {
                "keys": _item_to_json(change["Keys"]),
                "new": _item_to_json(image) if image else None,
            }
            lines.append(json.dumps(entry, separators=(",", ":")) + "\n")
        self._log.write("".join(lines))
        # Into the operating system on every batch: a killed server loses at most the
        # batch being read, not what it had buffered.
        self._log.flush()

    def close(self) -> None:
        for handle in (self._log, self._lock):
            if handle is not None:
                with contextlib.suppress(OSError):
                    handle.close()
        self._log = self._lock = None
