"""Limits on what one document may ask for, checked before anything executes."""

from __future__ import annotations

from typing import Any, Final

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)

# Limits sized for this schema. The deepest useful query is
# recordDonation > donor > donations > nodes > amount (depth 5). Today's types have no
# cycles, so 8 is a guard for the day one is added (say, Donation.donor).
MAX_QUERY_DEPTH: Final = 8
# Aliases let one request repeat a field; 15 covers dashboards, stops amplification.
MAX_ALIASES: Final = 15
# The largest sensible document here is a few hundred tokens; 2,000 stops megabyte
# documents before the parser spends time on them.
MAX_TOKENS: Final = 2_000
# Distinct documents a warm function keeps parsed and validated.
CACHE_SIZE: Final = 256


class OperationLimits(ValidationRule):
    """Rejects operations deeper than ``MAX_QUERY_DEPTH`` or with more than ``MAX_ALIASES``.

    Replaces Strawberry's QueryDepthLimiter and MaxAliasesLimiter, which walk every path
    through the fragments: a 1 KB document whose fragments each spread the next one twice
    took seconds per 20 fragments and doubled with each one more (a CPU denial of service),
    and a spread of an undefined fragment crashed them with a KeyError. Here each fragment
    is measured once. Unknown fragments and cycles are left to graphql-core's own rules.
    Depth counts fields on the longest path; introspection fields are left to
    graphql-core's MaxIntrospectionDepthRule, as Strawberry's limiter did.
    """

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self._fragments = {
            definition.name.value: definition
            for definition in context.document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self._measured: dict[str, tuple[int, int]] = {}

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        depth, aliases = self._measure(node.selection_set, frozenset())
        name = node.name.value if node.name else "anonymous"
        if depth > MAX_QUERY_DEPTH:
            self._reject(
                f"Operation '{name}' is {depth} fields deep; the limit is {MAX_QUERY_DEPTH}.", node
            )
        if aliases > MAX_ALIASES:
            self._reject(
                f"Operation '{name}' uses {aliases} aliases; the limit is {MAX_ALIASES}.", node
            )

    def _reject(self, message: str, node: OperationDefinitionNode) -> None:
        self.report_error(GraphQLError(message, node, extensions={"code": "QUERY_TOO_COMPLEX"}))

    def _measure(
        self, selection_set: SelectionSetNode, visiting: frozenset[str]
    ) -> tuple[int, int]:
        """(depth, aliases) of a selection set, each fragment expanded wherever it is spread."""
        depth = aliases = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                aliases += selection.alias is not None
                inner_depth = 0
                if selection.selection_set and not selection.name.value.startswith("__"):
                    inner_depth, inner_aliases = self._measure(selection.selection_set, visiting)
                    aliases += inner_aliases
                depth = max(depth, 1 + inner_depth)
            elif isinstance(selection, InlineFragmentNode):
                inner_depth, inner_aliases = self._measure(selection.selection_set, visiting)
                depth, aliases = max(depth, inner_depth), aliases + inner_aliases
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self._fragments.get(name)
                if fragment is None or name in visiting:
                    continue
                if name not in self._measured:
                    self._measured[name] = self._measure(fragment.selection_set, visiting | {name})
                inner_depth, inner_aliases = self._measured[name]
                depth, aliases = max(depth, inner_depth), aliases + inner_aliases
        return depth, aliases
