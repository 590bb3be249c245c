"""Which room may import which: the rule the README's Layout states, checked on every import.

Imports are read with ``ast`` (nothing is executed), including imports inside functions and
under ``TYPE_CHECKING``: a lazy import still couples two rooms.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Longest prefix wins. The runtime (what the Lambda asset holds) is everything from
# `handler` down; the dev harness, operator scripts, bench and tests sit above it.
ROOMS: dict[str, str] = {
    "donations.constants": "shared",
    "donations.settings": "shared",
    "donations.domain": "domain",
    "donations.adapters": "adapters",
    "donations.observability": "observability",
    "donations.container": "composition",
    "resolvers": "resolvers",
    "schema": "schema",
    "handler": "handler",
    "infra": "infra",
    "local": "local",
    "scripts": "scripts",
    "bench": "bench",
    "tests": "tests",
}

RUNTIME = {
    "shared",
    "domain",
    "adapters",
    "observability",
    "composition",
    "resolvers",
    "schema",
    "handler",
}
ALLOWED: dict[str, set[str]] = {
    "shared": set(),
    "domain": set(),
    "adapters": {"domain", "shared"},
    "observability": {"domain", "shared"},
    "composition": {"adapters", "domain", "observability", "shared"},
    "resolvers": {"domain", "observability", "shared"},
    "schema": {"resolvers", "domain", "observability", "shared"},
    "handler": {"schema", "composition", "adapters", "domain", "observability", "shared"},
    # The CDK app shares names and value parsers with the runtime, and nothing else.
    "infra": {"shared"},
    "local": RUNTIME,
    "scripts": RUNTIME | {"local"},
    "bench": RUNTIME | {"local", "infra"},
    "tests": RUNTIME | {"infra", "local", "scripts", "bench"},
}

# Third-party packages a room must never import.
FORBIDDEN_LIBRARIES: dict[str, set[str]] = {
    "domain": {"boto3", "botocore", "strawberry", "graphql", "aws_lambda_powertools", "os"},
    "resolvers": {"boto3", "botocore", "strawberry", "graphql"},
    "schema": {"boto3", "botocore"},
    "handler": {"boto3", "botocore"},
}


def room_of(module: str) -> str | None:
    for prefix in sorted(ROOMS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return ROOMS[prefix]
    if module == "donations":
        return "shared"
    return None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> Iterator[Path]:
    yield ROOT / "handler.py"
    for folder in (
        "donations",
        "schema",
        "resolvers",
        "infra",
        "local",
        "scripts",
        "bench",
        "tests",
    ):
        yield from sorted((ROOT / folder).rglob("*.py"))


def imports_of(path: Path) -> Iterator[tuple[str, int]]:
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                yield ".".join([*base, node.module or ""]).strip("."), node.lineno
            else:
                yield node.module or "", node.lineno
                for alias in node.names:  # `from donations import constants`
                    yield f"{node.module}.{alias.name}", node.lineno


def edges() -> Iterator[tuple[str, str, str, str]]:
    """(importing room, imported module, file:line, importing module) for every import."""
    for path in source_files():
        source_room = room_of(module_name(path))
        assert source_room is not None, path
        for imported, line in imports_of(path):
            yield source_room, imported, f"{path.relative_to(ROOT)}:{line}", module_name(path)


def test_every_import_points_down_the_layers() -> None:
    wrong = []
    for source, imported, where, _ in edges():
        target = room_of(imported)
        if target is not None and target != source and target not in ALLOWED[source]:
            wrong.append(f"{where}: {source} imports {imported} ({target})")
    assert wrong == [], "\n".join(wrong)


def test_no_room_imports_a_library_it_must_not() -> None:
    wrong = []
    for source, imported, where, _ in edges():
        top = imported.split(".")[0]
        if top in FORBIDDEN_LIBRARIES.get(source, set()):
            wrong.append(f"{where}: {source} imports {imported}")
    assert wrong == [], "\n".join(wrong)


def test_the_rule_itself_has_no_cycle() -> None:
    # So no two rooms can ever import each other, whatever the code does.
    def reaches(start: str, goal: str, seen: frozenset[str] = frozenset()) -> bool:
        return any(
            nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt}))
            for nxt in ALLOWED[start]
        )

    assert [room for room in ALLOWED if reaches(room, room)] == []


@pytest.mark.parametrize("package", ["donations", "schema", "resolvers"])
def test_the_runtime_packages_hold_no_dev_harness_or_fakes(package: str) -> None:
    names = {path.stem for path in (ROOT / package).rglob("*.py")}
    assert not names & {"server", "emulator", "stream_pump", "inbox", "memory", "lambda_context"}
