from __future__ import annotations

import json
from pathlib import Path

from strawberry.printer import print_schema

from schema import build_schema
from schema.__main__ import possible_types
from schema.documents import MANIFEST_PATH
from scripts.documents import build_manifest, manifest_text

SDL = Path(__file__).resolve().parents[2] / "schema" / "schema.graphql"
POSSIBLE_TYPES = SDL.with_name("possible-types.json")


def test_committed_sdl_matches_the_code() -> None:
    assert SDL.read_text().strip() == print_schema(build_schema()).strip(), (
        "schema/schema.graphql is out of date: run `make schema` and commit the result"
    )


def test_committed_possible_types_match_the_schema() -> None:
    committed = json.loads(POSSIBLE_TYPES.read_text())

    assert committed == possible_types(print_schema(build_schema())), (
        "schema/possible-types.json is out of date: run `make schema` and commit the result"
    )
    assert committed["RecordDonationResult"] == [
        "IdempotencyKeyReused",
        "InvalidDonation",
        "RecordDonationSuccess",
    ]


def test_committed_trusted_documents_match_documents_folder() -> None:
    assert MANIFEST_PATH.read_text() == manifest_text(build_manifest()), (
        "schema/trusted-documents.json is out of date: run `make documents` and commit the result"
    )
