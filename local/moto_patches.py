"""Two of moto's DynamoDB operations made to cost what the items they touch cost.

moto 5.2.5 does two things in proportion to the size of the whole table, which make the
local server slow down as its table grows (docs/performance.md, "Load"):

- ``TransactWriteItems`` backs up every table it names with ``copy.deepcopy`` (every item
  and every stream record the table ever produced), so it can put the copy back if the
  transaction is cancelled;
- ``Query`` on a table (not an index) sorts every item of the table, then keeps those of
  the one partition asked for.

The narrow rollback keeps moto's own transaction code, and so its checks, its cancellation
reasons and its ``ReturnValuesOnConditionCheckFailure`` items, and replaces only the backup:
before the transaction it saves the items the transaction names (at most 100) and the length
of each table's stream; if the transaction raises, it puts those items back and drops the
stream records the transaction appended. A cancelled transaction then leaves what moto's
whole-table rollback leaves: the same items and no stream record. Unlike moto's rollback it
keeps the table and shard objects in place, so a stream reader's position survives.

The partition query keeps moto's ``Query`` code too, and hands it only the queried
partition's items where it asks for all of them: the items it would have kept anyway.

Both reach into moto's internals, so they are pinned: they refuse to install, with a message
that says what to do, unless moto is the locked version and every patched method is exactly
the code they were written against. The pins cover ``StreamShard.get`` too, which
``local.stream_pump.MotoShardReader`` mirrors to read the stream in-process.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import inspect
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

PINNED_MOTO_VERSION: Final = "5.2.5"
# sha256 of the source of each method patched or relied on, in the pinned release: any
# change to one of them, however small, needs this module re-checked.
PINNED_SOURCES: Final = {
    "DynamoDBBackend.transact_write_items": (
        "81db2cb7d94e39c90b3a2077e1f4bb41a449c558ef9b1b1e2910fdaa39978ad4"
    ),
    "Table.query": "002b4d00be6df07cf37f6cbe0132e5eb89455ae12a8e79b23db3fb492450f21e",
    "Table.all_items": "c80d2ee3c896acd0cab6ca35aaeae3ab3fb65858933f8a3403d4e027c240f31d",
    # Not patched: local.stream_pump.MotoShardReader reads the shard as this method does.
    "StreamShard.get": "fa7e9a0d7b438c2fbd4bcc8a04fecc79f70862760d1f176d3bc86775967e2d7e",
}


class UnsupportedMotoError(RuntimeError):
    """The installed moto is not the one these patches were written against."""


def source_digest(function: Callable[..., Any]) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()


def check_supported(version: str, methods: Mapping[str, Callable[..., Any]]) -> None:
    """Raise ``UnsupportedMotoError`` unless this is the moto the patches were written for.

    ``methods`` maps each name of ``PINNED_SOURCES`` to the installed (unpatched) method.
    """
    advice = (
        "local/moto_patches.py patches moto's DynamoDB backend and was written against "
        f"moto {PINNED_MOTO_VERSION}; "
    )
    if version != PINNED_MOTO_VERSION:
        raise UnsupportedMotoError(
            f"{advice}moto {version} is installed. Run `uv sync --frozen` to get the locked "
            "version, or re-check the patches against the new release and update their pins."
        )
    for name, digest in PINNED_SOURCES.items():
        if source_digest(methods[name]) != digest:
            raise UnsupportedMotoError(
                f"{advice}the installed {name} differs from that release's. Re-check the "
                "patch against it and update PINNED_SOURCES."
            )


@dataclass
class _Savepoint:
    """The items a transaction names and the stream lengths, as they were before it ran."""

    # (table, hash key, range key) -> a copy of the item, or None where there was none
    items: dict[tuple[Any, Any, Any], Any] = field(default_factory=dict)
    # partitions that did not exist before: an emptied one is removed again
    new_partitions: set[tuple[Any, Any]] = field(default_factory=set)
    # table -> (its stream shard, how many records it held)
    streams: dict[Any, tuple[Any, int]] = field(default_factory=dict)

    @classmethod
    def before(cls, backend: Any, transact_items: list[dict[str, Any]]) -> _Savepoint:
        savepoint = cls()
        for entry in transact_items:
            for operation, request in entry.items():
                found = cls._table_and_key(backend, operation, request)
                if found is None:
                    continue
                table, (hash_value, range_value) = found
                if (table, hash_value) not in savepoint.new_partitions and (
                    hash_value not in table.items
                ):
                    savepoint.new_partitions.add((table, hash_value))
                current = table.get_item(hash_value, range_value)
                savepoint.items.setdefault((table, hash_value, range_value), copy.deepcopy(current))
                shard = table.stream_shard
                if shard is not None and table not in savepoint.streams:
                    savepoint.streams[table] = (shard, len(shard.items))
        return savepoint

    @staticmethod
    def _table_and_key(backend: Any, operation: str, request: Any) -> tuple[Any, Any] | None:
        """The table and the item's key as moto stores them; None where moto would refuse
        the operation before writing anything (no such table, a malformed key)."""
        try:
            table = backend.tables.get(request["TableName"])
            if table is None:
                return None
            if operation == "Put":
                attributes = request["Item"]
                key = {table.hash_key_attr: attributes[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attributes[table.range_key_attr]
            else:
                key = request["Key"]
            return table, backend.get_keys_value(table, key)
        except Exception:  # moto rejects this operation before it writes anything
            return None

    def restore(self) -> None:
        for (table, hash_value, range_value), saved in self.items.items():
            if range_value is None:
                if saved is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = saved
                continue
            partition = table.items[hash_value]
            if saved is None:
                partition.pop(range_value, None)
            else:
                partition[range_value] = saved
        for table, hash_value in self.new_partitions:
            if not table.items.get(hash_value, True):
                del table.items[hash_value]
        for table, (shard, length) in self.streams.items():
            if table.stream_shard is shard and len(shard.items) >= length:
                del shard.items[length:]


class _TableCopyElider:
    """Stands in for the ``copy`` module inside moto's DynamoDB backend module.

    While a narrow transaction runs, ``copy.deepcopy(table)`` hands back the table itself, so
    moto's whole-table backup costs nothing and its rollback (putting the "backup" back) is a
    no-op. Every other copy, such as ``update_item``'s copy of the old item for the stream
    record, is a real one.
    """

    def __init__(self, table_type: type) -> None:
        self._table_type = table_type
        self._local = threading.local()

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        if getattr(self._local, "eliding", False) and isinstance(value, self._table_type):
            return value
        return copy.deepcopy(value, memo)

    def eliding(self) -> _Eliding:
        return _Eliding(self._local)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


class _Eliding:
    def __init__(self, local: threading.local) -> None:
        self._local = local

    def __enter__(self) -> None:
        self._local.eliding = True

    def __exit__(self, *_: object) -> None:
        self._local.eliding = False


class _PartitionScope:
    """Which partition a table query running on this thread asks for, if any."""

    def __init__(self) -> None:
        self._local = threading.local()

    def current(self, table: Any) -> tuple[bool, Any]:
        scope = getattr(self._local, "scope", None)
        if scope is None or scope[0] is not table:
            return False, None
        return True, scope[1]

    def enter(self, table: Any, hash_key: Any) -> None:
        self._local.scope = (table, hash_key)

    def leave(self) -> None:
        self._local.scope = None


_install_lock = threading.Lock()
# Where the pinned Table.query takes index_name: (range_comparison, range_objs, limit,
# exclusive_start_key, scan_index_forward, projection_expressions, index_name, ...).
_INDEX_NAME_AFTER_HASH_KEY: Final = 6


def installed_methods() -> dict[str, Callable[..., Any]]:
    """moto's own versions of the methods named in ``PINNED_SOURCES``."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import StreamShard, Table

    installed: dict[str, Callable[..., Any]] = {
        "DynamoDBBackend.transact_write_items": DynamoDBBackend.transact_write_items,
        "Table.query": Table.query,
        "Table.all_items": Table.all_items,
        "StreamShard.get": StreamShard.get,
    }
    return {name: getattr(method, "__wrapped__", method) for name, method in installed.items()}


def install_moto_patches() -> None:
    """Patch moto's DynamoDB backend (idempotent); ``UnsupportedMotoError`` if not pinned."""
    import moto
    import moto.dynamodb.models as backend_module
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    with _install_lock:
        if getattr(DynamoDBBackend.transact_write_items, "moto_patch", False):
            return
        stock = installed_methods()
        check_supported(moto.__version__, stock)
        if backend_module.copy is not copy:  # type: ignore[attr-defined]
            raise UnsupportedMotoError(
                "moto.dynamodb.models no longer uses the copy module as local/"
                "moto_patches.py expects; re-check the patch."
            )
        elider = _TableCopyElider(Table)
        transact = stock["DynamoDBBackend.transact_write_items"]

        @functools.wraps(transact)
        def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
            savepoint = _Savepoint.before(self, transact_items)
            try:
                with elider.eliding():
                    transact(self, transact_items)
            except BaseException:
                savepoint.restore()
                raise

        partition = _PartitionScope()
        query, all_items = stock["Table.query"], stock["Table.all_items"]

        @functools.wraps(query)
        def table_query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
            index_name = kwargs.get("index_name") or (
                args[_INDEX_NAME_AFTER_HASH_KEY] if len(args) > _INDEX_NAME_AFTER_HASH_KEY else None
            )
            if index_name or hash_key is None:
                return query(self, hash_key, *args, **kwargs)
            partition.enter(self, hash_key)
            try:
                return query(self, hash_key, *args, **kwargs)
            finally:
                partition.leave()

        @functools.wraps(all_items)
        def table_all_items(self: Any) -> list[Any]:
            scoped, hash_key = partition.current(self)
            if not scoped:
                items: list[Any] = all_items(self)
                return items
            # What stock all_items returns, less the other partitions' items: moto's query
            # keeps only items whose hash key is the one asked for.
            found = self.items.get(hash_key)
            if found is None:
                return []
            if self.range_key_attr:
                return sorted(found.values(), key=lambda item: item.range_key)
            return [found]

        patches: tuple[Any, ...] = (transact_write_items, table_query, table_all_items)
        for patched in patches:
            patched.moto_patch = True
        backend_module.copy = elider  # type: ignore[attr-defined,assignment]
        DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
        Table.query = table_query  # type: ignore[method-assign]
        Table.all_items = table_all_items  # type: ignore[method-assign]
