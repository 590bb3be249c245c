"""`make documents`: build the trusted-documents manifest, schema/trusted-documents.json.

Reads every operation of ``documents/*.graphql`` and every manifest in ``documents/*.json``
(Apollo's persisted-query manifest or GraphQL Code Generator's ``persisted-documents.json``,
as a front end's build writes them), checks each against the schema and its limits, and
writes one manifest in Apollo's format, which the stack ships with the function.

An operation from a ``.graphql`` file is written the way Apollo Client and urql send it
(printed, with ``__typename`` in every selection set below the root, as their caches add
it), under the SHA-256 of that text: their persisted-query links find it with their default
hashing, so a front end needs no manifest of its own to run on a stage that requires trusted
documents. Entries of imported manifests are kept exactly as written (their ids are what
their clients send).

``--check`` writes nothing and exits 1 if the committed manifest is out of date.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Visitor,
    parse,
    print_ast,
    specified_rules,
    validate,
    visit,
)
from graphql import build_schema as build_graphql_schema
from strawberry.printer import print_schema

from schema import build_schema
from schema.documents import (
    APOLLO_MANIFEST_FORMAT,
    MANIFEST_PATH,
    TrustedDocument,
    parse_manifest,
    sha256_hex,
)
from schema.limits import MAX_TOKENS, measure, refusal

PROJECT_ROOT: Final = Path(__file__).resolve().parents[1]
DOCUMENTS_DIR: Final = PROJECT_ROOT / "documents"


class DocumentsError(Exception):
    """A document that can't go into the manifest, and why (with the file it came from)."""


class _AddTypename(Visitor):
    """Apollo Client's (and urql's) rule: ``__typename`` at the end of every selection set
    below the operation's root that selects no ``__``-field of its own."""

    def enter_selection_set(
        self, node: SelectionSetNode, _key: object, parent: object, *_: object
    ) -> SelectionSetNode | None:
        if isinstance(parent, OperationDefinitionNode):
            return None
        if any(
            isinstance(selection, FieldNode) and selection.name.value.startswith("__")
            for selection in node.selections
        ):
            return None
        typename = FieldNode(
            name=NameNode(value="__typename"), arguments=(), directives=(), selection_set=None
        )
        return SelectionSetNode(selections=(*node.selections, typename))


def graphql_schema() -> GraphQLSchema:
    """The contract the documents must fit, from the same SDL `make schema` exports."""
    return build_graphql_schema(print_schema(build_schema()))


def _check(body: str, schema: GraphQLSchema, origin: str) -> DocumentNode:
    # The limits every request meets, so no trusted document is one the API would refuse.
    try:
        document = parse(body, max_tokens=MAX_TOKENS)
        refused = refusal(measure(document, schema))
    except GraphQLError as error:
        raise DocumentsError(f"{origin}: {error.message}") from None
    errors = [refused] if refused is not None else validate(schema, document, specified_rules)
    if errors:
        raise DocumentsError(f"{origin}: {errors[0].message}")
    return document


class _Spreads(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def enter_fragment_spread(self, spread: FragmentSpreadNode, *_: object) -> None:
        self.names.append(spread.name.value)


def _fragments_used(
    operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]
) -> list[FragmentDefinitionNode]:
    used: set[str] = set()
    pending: list[OperationDefinitionNode | FragmentDefinitionNode] = [operation]
    while pending:
        spreads = _Spreads()
        visit(pending.pop(), spreads)
        for name in spreads.names:
            if name not in used and name in fragments:
                used.add(name)
                pending.append(fragments[name])
    # In the order the file defines them, as a reader (and Apollo's tooling) sees them.
    return [fragment for name, fragment in fragments.items() if name in used]


def operations_from_graphql(path: Path, schema: GraphQLSchema) -> list[TrustedDocument]:
    """Each operation of a ``.graphql`` file, with the fragments it uses, as a client sends it."""
    document = _check(path.read_text(encoding="utf-8"), schema, path.name)
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    operations = []
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if definition.name is None:
            raise DocumentsError(f"{path.name}: every operation needs a name")
        single = DocumentNode(definitions=(definition, *_fragments_used(definition, fragments)))
        body = print_ast(visit(single, _AddTypename()))
        operations.append(
            TrustedDocument(
                id=sha256_hex(body),
                body=body,
                name=definition.name.value,
                type=definition.operation.value,
            )
        )
    return operations


def operations_from_manifest(path: Path, schema: GraphQLSchema) -> list[TrustedDocument]:
    """The entries of a manifest another tool wrote, checked against this schema."""
    try:
        entries = parse_manifest(json.loads(path.read_text(encoding="utf-8")))
    except ValueError as error:  # json.JSONDecodeError is one
        raise DocumentsError(f"{path.name}: {error}") from None
    operations = []
    for entry in entries:
        document = _check(entry.body, schema, f"{path.name} {entry.id}")
        operation = next(
            (d for d in document.definitions if isinstance(d, OperationDefinitionNode)), None
        )
        if operation is None:
            raise DocumentsError(f"{path.name} {entry.id}: no operation")
        operations.append(
            TrustedDocument(
                id=entry.id,
                body=entry.body,
                name=entry.name or (operation.name.value if operation.name else None),
                type=entry.type or operation.operation.value,
            )
        )
    return operations


def build_manifest(directory: Path = DOCUMENTS_DIR) -> dict[str, Any]:
    """The manifest for every document under ``directory``, in Apollo's format."""
    schema = graphql_schema()
    operations: dict[str, TrustedDocument] = {}
    for path in sorted(directory.glob("*.graphql")) + sorted(directory.glob("*.json")):
        if path.suffix == ".graphql":
            found = operations_from_graphql(path, schema)
        else:
            found = operations_from_manifest(path, schema)
        for operation in found:
            known = operations.setdefault(operation.id, operation)
            if known.body != operation.body:
                raise DocumentsError(f"{path.name}: id {operation.id} names two documents")
    ordered = sorted(operations.values(), key=lambda op: (op.name or "", op.id))
    return {
        "format": APOLLO_MANIFEST_FORMAT,
        "version": 1,
        "operations": [
            {"id": op.id, "name": op.name, "type": op.type, "body": op.body} for op in ordered
        ],
    }


def manifest_text(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    try:
        text = manifest_text(build_manifest())
    except DocumentsError as error:
        sys.stderr.write(f"make documents: {error}\n")
        return 1
    if "--check" in argv:
        if MANIFEST_PATH.read_text(encoding="utf-8") != text:
            sys.stderr.write(f"{MANIFEST_PATH.name} is out of date: run `make documents`\n")
            return 1
        return 0
    MANIFEST_PATH.write_text(text, encoding="utf-8")
    count = len(json.loads(text)["operations"])
    sys.stderr.write(f"==> wrote {MANIFEST_PATH.relative_to(PROJECT_ROOT)} ({count} documents)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
