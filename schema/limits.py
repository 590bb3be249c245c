"""Limits on what one document may ask for, measured before graphql-core validates it.

graphql-core's validation runs about thirty rules over every node of a document, and one of
them, OverlappingFieldsCanBeMergedRule, compares every pair of fields that land on the same
response name: a few KB of same-named fields took seconds. So each document is measured
first, in one walk over the parsed document that stops as soon as it has seen more than
``MAX_SELECTIONS`` selections, and a document over any limit is refused before validation
starts: validation and execution only ever see documents whose work is bounded. The measure
is cached with the parsed document (``DocumentLimits``), so a repeated document costs
neither again.

The walk expands fragments where they are spread and merges fields that share a response
name, as GraphQL executes them (spec: CollectFields, then one field per response name), so
a limit can't be dodged by spreading a fragment twice or by repeating a field.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
    parse,
)
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension

from donations.domain.ledger import MAX_PAGE_SIZE
from schema.types import DEFAULT_PAGE_SIZE

# The largest documents we serve are GraphiQL's introspection query (about 170 tokens,
# 188 fields once its fragments are spread, 13 fields deep inside __schema) and the README's
# examples (under 70 tokens). Each figure below leaves room above them; docs/security.md
# gives the reasoning and `make bench` the worst document that fits them all.
#
# Tokens bound the parser and the linear part of validation (~30 rules per node).
MAX_TOKENS: Final = 1_000
# Fields and fragment spreads in the whole document, every fragment counted wherever it is
# spread: the walk below, validation's fragment work and execution are all bounded by it.
MAX_SELECTIONS: Final = 300
# Fields landing in one selection set once fragments are spread and repeated fields merged.
# OverlappingFieldsCanBeMergedRule compares them pairwise, so this bounds its quadratic part
# (at most MAX_SELECTIONS x MAX_SELECTION_SET_FIELDS / 2 comparisons per document).
MAX_SELECTION_SET_FIELDS: Final = 32
# @include/@skip on fields and fragments, every fragment counted wherever it is spread.
MAX_DIRECTIVES: Final = 10
# The deepest useful query is recordDonation > donor > donations > nodes > amount (depth 5).
# Today's types have no cycles, so 8 is a guard for the day one is added. Introspection
# fields are left to graphql-core's MaxIntrospectionDepthRule.
MAX_QUERY_DEPTH: Final = 8
# Aliases let one request repeat a field (and its storage reads); 15 covers dashboards.
MAX_ALIASES: Final = 15
# Static cost: every field resolved counts 1, a field that makes a DynamoDB request counts
# STORAGE_READ more, and a list multiplies what is selected on its items by how many it
# holds. A storage request costs the CPU of ~60 plain fields (botocore builds, signs and
# parses it: about what a whole plain request costs). 1,000 admits 16 storage reads (15
# aliased counts, say), or a page of 100 donations with every field and its donor.
STORAGE_READ: Final = 60
MAX_COST: Final = 1_000
# Lists whose length isn't an argument are assumed to be this long (a donor's totals, one
# per currency; a refusal's field errors, one per input field).
ASSUMED_LIST_SIZE: Final = 5
# Validation stops after this many errors. graphql-core stops at 100 (its max_errors, which
# Strawberry does not pass on), and each error locates itself by scanning the document up
# to its position: 100 errors in a 16 KiB document of one line cost 10 plain requests.
MAX_VALIDATION_ERRORS: Final = 10
# Distinct documents a warm function keeps parsed, measured and validated.
CACHE_SIZE: Final = 256

# Fields that make a storage request when resolved (others read what the request has
# already fetched: a donor's count, totals and thankedAt share one read per donor).
_STORAGE_FIELDS: Final = frozenset(
    {
        ("Query", "donationCount"),
        ("Query", "donor"),
        ("Mutation", "recordDonation"),
        ("RecordDonationSuccess", "donor"),
        ("Donor", "firstDonatedAt"),
        ("Donor", "lastDonatedAt"),
        ("Donor", "donations"),
    }
)
# Introspection resolves the whole schema's types and fields: about what a storage read
# costs in CPU, so 15 aliased `__schema` fields are over budget even in development.
_INTROSPECTION_FIELDS: Final = frozenset({("Query", "__schema"), ("Query", "__type")})
# The page a `donations` connection returns holds `first` donations.
_PAGE_FIELD: Final = ("Donor", "donations")
_PAGE_ITEMS: Final = ("DonationConnection", "nodes")
_SHORT_LISTS: Final = frozenset({("Donor", "totals"), ("InvalidDonation", "errors")})
# Every (type, field) named above, so a test can check they all exist in the schema.
COSTED_FIELDS: Final = (
    _STORAGE_FIELDS | _INTROSPECTION_FIELDS | _SHORT_LISTS | {_PAGE_FIELD, _PAGE_ITEMS}
)

QUERY_TOO_COMPLEX: Final = "QUERY_TOO_COMPLEX"


class DocumentTooComplex(GraphQLError):
    """A document over one of the limits; refused before validation."""

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": QUERY_TOO_COMPLEX})


@dataclass(slots=True)
class _MergedField:
    """The field nodes that land on one response path: GraphQL executes them as one field."""

    nodes: int = 0
    weight: int = 1  # 1, plus STORAGE_READ for a field that makes a storage request
    items: int = 1  # how many times what is selected on it is resolved (a list's length)
    introspection: bool = False
    children: dict[str, _MergedField] = field(default_factory=dict)


class _Pending(NamedTuple):
    """A selection set still to walk, and where its fields land."""

    selection_set: SelectionSetNode
    parent: GraphQLNamedType | None
    into: dict[str, _MergedField]
    page: int | None  # the page size of the `donations` connection it is inside, if any
    spread: frozenset[str]  # the fragments spread on the way here (a cycle stops)


@dataclass(frozen=True, slots=True)
class OperationMeasure:
    """What one operation asks for, every fragment spread and every repeated field merged."""

    name: str
    depth: int
    aliases: int
    widest_selection_set: int
    cost: int


@dataclass(frozen=True, slots=True)
class DocumentMeasure:
    selections: int
    directives: int
    operations: tuple[OperationMeasure, ...]


class _Walk:
    """Expands and merges one document's operations, counting selections as it goes."""

    def __init__(self, document: DocumentNode, schema: GraphQLSchema) -> None:
        self._schema = schema
        self._fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self.selections = 0
        self.directives = 0

    def operation(self, operation: OperationDefinitionNode) -> OperationMeasure:
        root: dict[str, _MergedField] = {}
        defaults = {
            definition.variable.name.value: definition.default_value
            for definition in operation.variable_definitions or ()
        }
        aliases = self._merge(operation, root, defaults)
        name = operation.name.value if operation.name else "anonymous"
        return OperationMeasure(
            name=name,
            depth=_depth(root),
            aliases=aliases,
            widest_selection_set=max(_widths(root), default=0),
            cost=_cost(root),
        )

    def _merge(
        self,
        operation: OperationDefinitionNode,
        root: dict[str, _MergedField],
        defaults: Mapping[str, object],
    ) -> int:
        """Fill ``root`` with the operation's merged fields; returns how many were aliased.

        Iterative, with the fragments on the current path in each entry, so neither a long
        chain of fragments nor a cycle (graphql-core reports those) can exhaust the stack.
        """
        aliases = 0
        root_type = self._schema.get_root_type(operation.operation)
        pending = [_Pending(operation.selection_set, root_type, root, None, frozenset())]
        while pending:
            selection_set, parent, into, page, spread = pending.pop()
            for selection in selection_set.selections:
                self.selections += 1
                if self.selections > MAX_SELECTIONS:
                    raise DocumentTooComplex(
                        f"The document selects more than {MAX_SELECTIONS} fields and fragments "
                        "(a fragment counts wherever it is spread); split it into smaller ones."
                    )
                self.directives += len(selection.directives or ())
                if isinstance(selection, FieldNode):
                    aliases += selection.alias is not None
                    merged, child_type, child_page = self._field(
                        selection, parent, into, page, defaults
                    )
                    if selection.selection_set is not None:
                        pending.append(
                            _Pending(
                                selection.selection_set,
                                child_type,
                                merged.children,
                                child_page,
                                spread,
                            )
                        )
                elif isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    inner = self._schema.get_type(condition.name.value) if condition else parent
                    pending.append(_Pending(selection.selection_set, inner, into, page, spread))
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self._fragments.get(name)
                    if fragment is not None and name not in spread:
                        inner = self._schema.get_type(fragment.type_condition.name.value)
                        self.directives += len(fragment.directives or ())
                        pending.append(
                            _Pending(fragment.selection_set, inner, into, page, spread | {name})
                        )
        return aliases

    def _field(
        self,
        node: FieldNode,
        parent: GraphQLNamedType | None,
        into: dict[str, _MergedField],
        page: int | None,
        defaults: Mapping[str, object],
    ) -> tuple[_MergedField, GraphQLNamedType | None, int | None]:
        name = node.name.value
        response_name = node.alias.value if node.alias else name
        merged = into.get(response_name)
        if merged is None:
            merged = into[response_name] = _MergedField()
        merged.nodes += 1
        parent_name = parent.name if parent is not None else ""
        key = (parent_name, name)
        if key in _STORAGE_FIELDS or key in _INTROSPECTION_FIELDS:
            merged.weight = 1 + STORAGE_READ
        if key == _PAGE_ITEMS:
            merged.items = max(merged.items, page or DEFAULT_PAGE_SIZE)
        elif key in _SHORT_LISTS:
            merged.items = ASSUMED_LIST_SIZE
        merged.introspection = merged.introspection or name.startswith("__")
        definition = (
            parent.fields.get(name)
            if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
            else None
        )
        child_type = get_named_type(definition.type) if definition is not None else None
        child_page = _page_size(node, defaults) if key == _PAGE_FIELD else page
        return merged, child_type, child_page


def _page_size(node: FieldNode, defaults: Mapping[str, object]) -> int:
    """How many donations a `donations` field asks for: its `first`, at worst the maximum."""
    for argument in node.arguments or ():
        if argument.name.value == "first":
            value: object = argument.value
            if isinstance(value, VariableNode):
                value = defaults.get(value.name.value)
            if isinstance(value, IntValueNode):
                return min(max(int(value.value), 1), MAX_PAGE_SIZE)
            # A variable without a default can be anything up to the maximum.
            return MAX_PAGE_SIZE
    return DEFAULT_PAGE_SIZE


def _merged_sets(level: dict[str, _MergedField]) -> Iterator[dict[str, _MergedField]]:
    pending = [level]
    while pending:
        current = pending.pop()
        yield current
        pending.extend(merged.children for merged in current.values() if merged.children)


def _widths(root: dict[str, _MergedField]) -> Iterator[int]:
    for merged_set in _merged_sets(root):
        yield sum(merged.nodes for merged in merged_set.values())


# The merged tree holds at most MAX_SELECTIONS fields, so it is never deeper than that, and
# the two functions below can recurse over it.
def _depth(level: dict[str, _MergedField]) -> int:
    return max(
        (1 + (0 if merged.introspection else _depth(merged.children)) for merged in level.values()),
        default=0,
    )


def _cost(level: dict[str, _MergedField]) -> int:
    return sum(merged.weight + merged.items * _cost(merged.children) for merged in level.values())


def measure(document: DocumentNode, schema: GraphQLSchema) -> DocumentMeasure:
    """Measure every operation of a parsed document against the schema.

    Raises ``DocumentTooComplex`` as soon as the walk passes ``MAX_SELECTIONS``, so the work
    is bounded however many times the document's fragments multiply.
    """
    walk = _Walk(document, schema)
    operations = tuple(
        walk.operation(definition)
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
    )
    return DocumentMeasure(walk.selections, walk.directives, operations)


def refusal(measured: DocumentMeasure) -> DocumentTooComplex | None:
    """The first limit a measured document breaks, or None if it is within all of them."""
    if measured.directives > MAX_DIRECTIVES:
        return DocumentTooComplex(
            f"The document uses {measured.directives} directives (a fragment's count wherever "
            f"it is spread); the limit is {MAX_DIRECTIVES}."
        )
    for operation in measured.operations:
        name = operation.name
        if operation.depth > MAX_QUERY_DEPTH:
            return DocumentTooComplex(
                f"Operation '{name}' is {operation.depth} fields deep; "
                f"the limit is {MAX_QUERY_DEPTH}."
            )
        if operation.aliases > MAX_ALIASES:
            return DocumentTooComplex(
                f"Operation '{name}' uses {operation.aliases} aliases; the limit is {MAX_ALIASES}."
            )
        if operation.widest_selection_set > MAX_SELECTION_SET_FIELDS:
            return DocumentTooComplex(
                f"Operation '{name}' selects {operation.widest_selection_set} fields in one "
                "selection set (counting fragments spread into it and repeated fields); "
                f"the limit is {MAX_SELECTION_SET_FIELDS}."
            )
        if operation.cost > MAX_COST:
            return DocumentTooComplex(
                f"Operation '{name}' would cost {operation.cost} (a field 1, a storage read "
                f"{STORAGE_READ}, times the items of each list); the limit is {MAX_COST}."
            )
    return None


class ValidationErrorLimit(ValidationRule):
    """Ends graphql-core's validation after ``MAX_VALIDATION_ERRORS`` errors, as its own
    ``max_errors`` does (same abort, same closing error), before the next error is built."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        report = context.on_error
        reported = 0

        def report_within_limit(error: GraphQLError) -> None:
            nonlocal reported
            if reported >= MAX_VALIDATION_ERRORS:
                raise ValidationAbortedError(
                    "Too many validation errors, error limit reached. Validation aborted."
                )
            reported += 1
            report(error)

        # Every rule reports through the context; rules are built before the walk starts.
        context.on_error = report_within_limit  # type: ignore[method-assign]  # an attribute


@functools.lru_cache(maxsize=CACHE_SIZE)
def parse_within_limits(
    query: str, schema: GraphQLSchema, max_tokens: int | None = None
) -> DocumentNode:
    """The parsed document, once it is known to be within every limit (cached: a refusal
    raises, so only accepted documents are kept)."""
    document = parse(query, max_tokens=max_tokens)
    refused = refusal(measure(document, schema))
    if refused is not None:
        raise refused
    return document


class DocumentLimits(SchemaExtension):
    """Parses, measures and caches each document, and refuses ambiguous requests.

    In place of Strawberry's ParserCache: the measure is cached with the parse, so a
    repeated document costs a dictionary lookup. Runs before ValidationCache, so a document
    over a limit never reaches graphql-core's validation.
    """

    _operation_named = False

    def on_operation(self) -> Iterator[None]:
        # Before the document is parsed, ExecutionContext.operation_name is exactly the
        # operationName of the request; afterwards Strawberry falls back to the first
        # operation's name.
        self._operation_named = self.execution_context.operation_name is not None
        yield

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None:
            context.graphql_document = parse_within_limits(
                context.query, context.schema._schema, context.parse_options.get("max_tokens")
            )
        yield

    def on_validate(self) -> Iterator[None]:
        document = self.execution_context.graphql_document
        operations = [
            definition
            for definition in (document.definitions if document else ())
            if isinstance(definition, OperationDefinitionNode)
        ]
        if len(operations) > 1 and not self._operation_named:
            # The spec's GetOperation: with several operations the request must name one.
            # Strawberry would run the first.
            raise GraphQLError(
                "Must provide operation name if query contains multiple operations.",
                extensions={"code": "OPERATION_RESOLUTION_FAILURE"},
            )
        yield
