from __future__ import annotations

from pathlib import Path

from strawberry.printer import print_schema

from schema import build_schema

SDL = Path(__file__).resolve().parents[2] / "schema" / "schema.graphql"


def test_committed_sdl_matches_the_code() -> None:
    assert SDL.read_text().strip() == print_schema(build_schema()).strip(), (
        "schema/schema.graphql is out of date: run `make schema` and commit the result"
    )
