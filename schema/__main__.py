"""`python -m schema [PATH] [--possible-types PATH]`: print the SDL of the schema, or write it
to PATH; with ``--possible-types``, also write the union and interface members that Apollo
Client's cache needs (``new InMemoryCache({possibleTypes})``), as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from graphql import GraphQLInterfaceType, GraphQLUnionType
from graphql import build_schema as build_graphql_schema
from strawberry.printer import print_schema

from schema import build_schema


def possible_types(sdl: str) -> dict[str, list[str]]:
    """Each abstract type mapped to its concrete types, sorted: Apollo's `possibleTypes`."""
    schema = build_graphql_schema(sdl)
    return {
        name: sorted(member.name for member in schema.get_possible_types(graphql_type))
        for name, graphql_type in sorted(schema.type_map.items())
        if isinstance(graphql_type, GraphQLUnionType | GraphQLInterfaceType)
        and not name.startswith("__")
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m schema")
    parser.add_argument("sdl_path", nargs="?", type=Path)
    parser.add_argument("--possible-types", type=Path)
    args = parser.parse_args(argv)
    sdl = print_schema(build_schema()) + "\n"
    if args.sdl_path:
        args.sdl_path.write_text(sdl)
    else:
        sys.stdout.write(sdl)
    if args.possible_types:
        args.possible_types.write_text(json.dumps(possible_types(sdl), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
