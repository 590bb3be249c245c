"""The emulated table's folder (local/persistence.py): snapshot, change log, lock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from local.persistence import (
    CHANGES,
    SNAPSHOT,
    DataFolderBusyError,
    EmulatorData,
    UnreadableSnapshotError,
)

KEYS = ("pk", "sk")


def item(pk: str, sk: str, **attributes: Any) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}, **attributes}


def change(event: str, new: dict[str, Any] | None, keys: dict[str, Any]) -> dict[str, Any]:
    """A stream record in the shape the stream pump hands over (Lambda's)."""
    record: dict[str, Any] = {"eventName": event, "dynamodb": {"Keys": keys}}
    if new is not None:
        record["dynamodb"]["NewImage"] = new
    return record


def test_a_saved_table_comes_back_attribute_for_attribute(tmp_path: Path) -> None:
    every_kind = item(
        "DONOR#a",
        "DONOR",
        count={"N": "2"},
        blob={"B": b"\x00\xffbytes"},
        blobs={"BS": [b"\x01", b"\x02"]},
        nested={"M": {"BS": {"L": [{"S": "x"}, {"B": b"\x03"}, {"NULL": True}]}}},
        B={"S": "an attribute named like a type"},
        flag={"BOOL": False},
        tags={"SS": ["a", "b"]},
    )
    data = EmulatorData(tmp_path, KEYS)

    data.save([every_kind, item("DONOR#a", "DONATION#1")])
    restored = data.load()

    assert restored.items == [every_kind, item("DONOR#a", "DONATION#1")]
    assert not restored.unclean
    assert restored.saved_at is not None


def test_changes_since_the_snapshot_are_replayed_in_order(tmp_path: Path) -> None:
    data = EmulatorData(tmp_path, KEYS)
    data.save([item("DONOR#a", "DONOR", count={"N": "1"}), item("DONOR#b", "DONOR")])
    data.open_change_log()

    data.record_changes(
        [
            change("MODIFY", item("DONOR#a", "DONOR", count={"N": "2"}), item("DONOR#a", "DONOR")),
            change("INSERT", item("DONOR#c", "DONOR"), item("DONOR#c", "DONOR")),
            change("REMOVE", None, item("DONOR#b", "DONOR")),
        ]
    )
    data.close()
    restored = EmulatorData(tmp_path, KEYS).load()

    assert sorted(restored.items, key=lambda i: i["pk"]["S"]) == [
        item("DONOR#a", "DONOR", count={"N": "2"}),
        item("DONOR#c", "DONOR"),
    ]
    assert restored.changes == 3
    assert restored.unclean


def test_compacting_folds_the_log_into_the_snapshot(tmp_path: Path) -> None:
    data = EmulatorData(tmp_path, KEYS)
    data.open_change_log()
    data.record_changes([change("INSERT", item("DONOR#a", "DONOR"), item("DONOR#a", "DONOR"))])

    kept = data.compact()

    assert kept == 1
    assert (tmp_path / CHANGES).read_text() == ""
    assert EmulatorData(tmp_path, KEYS).load().items == [item("DONOR#a", "DONOR")]


def test_a_change_cut_off_by_a_kill_is_skipped(tmp_path: Path) -> None:
    data = EmulatorData(tmp_path, KEYS)
    data.open_change_log()
    data.record_changes([change("INSERT", item("DONOR#a", "DONOR"), item("DONOR#a", "DONOR"))])
    data.close()
    with (tmp_path / CHANGES).open("a") as log:
        log.write('{"keys": {"pk": {"S": "DONOR#b"}, "sk"')

    restored = EmulatorData(tmp_path, KEYS).load()

    assert restored.items == [item("DONOR#a", "DONOR")]


def test_a_folder_is_held_by_one_server_at_a_time(tmp_path: Path) -> None:
    first = EmulatorData(tmp_path, KEYS)
    first.claim()

    with pytest.raises(DataFolderBusyError):
        EmulatorData(tmp_path, KEYS).claim()

    first.close()
    EmulatorData(tmp_path, KEYS).claim()


@pytest.mark.parametrize(
    "content", ['{"format": 99}\n', '{"format": 1}\n{"pk": {"S": "DONOR#a"}, "sk"\n', "garbage\n"]
)
def test_an_unreadable_snapshot_is_refused_not_overwritten(tmp_path: Path, content: str) -> None:
    (tmp_path / SNAPSHOT).write_text(content)

    with pytest.raises(UnreadableSnapshotError, match="FRESH=1"):
        EmulatorData(tmp_path, KEYS).load()

    assert (tmp_path / SNAPSHOT).read_text() == content


def test_discarding_empties_the_folder(tmp_path: Path) -> None:
    data = EmulatorData(tmp_path, KEYS)
    data.save([item("DONOR#a", "DONOR")])

    data.discard()

    assert data.load().items == []
