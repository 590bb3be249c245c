"""``Amount``: the input scalar for money, handed to the domain exactly as the client wrote it.

Strawberry's ``Decimal`` scalar reads input through Python's ``Decimal``, which accepts
"1_000", Arabic-Indic and full-width digits, surrounding spaces and "+12", and a JSON
number reaches it as a binary float, so 19.999999999999999999 became 20.00. This scalar
keeps the text instead: of a string; of a GraphQL number literal (graphql-core keeps its
source text); of a JSON number (the HTTP layer decodes every JSON number with a fraction or
exponent as a ``JsonNumber``, a float that remembers its text). The domain's amount grammar
(``donations.domain.validation.AMOUNT_PATTERN``) then decides, and a broken amount is an
``InvalidDonation`` with a field code like any other rule. Outputs keep the ``Decimal`` scalar.
"""

from __future__ import annotations

from typing import Any, NewType

import strawberry
from graphql import FloatValueNode, IntValueNode, StringValueNode, Undefined, ValueNode
from strawberry.exceptions import StrawberryInputCoercionError

AmountText = NewType("AmountText", str)

_NOT_AN_AMOUNT = 'Amount must be a string or a number, such as "12.50".'


class JsonNumber(float):
    """A JSON number with a fraction or exponent, and the text it was written as.

    A float everywhere else (an ``Int`` argument still accepts 20.0), so only ``Amount``
    reads the text. Used as ``json.loads(..., parse_float=JsonNumber)``.
    """

    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str) -> JsonNumber:
        number = super().__new__(cls, text)
        number.text = text
        return number


def _parse_value(value: Any) -> AmountText:
    if isinstance(value, JsonNumber):
        return AmountText(value.text)
    if isinstance(value, str):
        return AmountText(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return AmountText(str(value))
    if isinstance(value, float):
        # A float from Python (schema.execute_sync), not from JSON: its shortest repr.
        return AmountText(repr(value))
    # Strawberry's own coercion error: a client error (BAD_USER_INPUT), never masked.
    raise StrawberryInputCoercionError(_NOT_AN_AMOUNT)


def _parse_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> object:
    if isinstance(node, StringValueNode | IntValueNode | FloatValueNode):
        return AmountText(node.value)
    # graphql-core's sign for "not of this type": it reports "Expected value of type
    # 'Amount!', found true." as a validation error.
    return Undefined


AMOUNT = strawberry.scalar(
    name="Amount",
    description=(
        'A decimal amount in major units, written with the digits 0-9 and at most one ".", '
        'such as "12.50". Send a string, or a number: a JSON or GraphQL number is read by '
        "its exact text, never rounded."
    ),
    serialize=str,
    parse_value=_parse_value,
    parse_literal=_parse_literal,
)
