"""`make documents`: .graphql operations and other tools' manifests into one manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schema.documents import TrustedDocuments, parse_manifest, sha256_hex
from scripts.documents import DocumentsError, build_manifest

COUNT = "query Count($id: ID!) { donationCount(donorId: $id) }"


def write(folder: Path, name: str, content: str) -> None:
    (folder / name).write_text(content, encoding="utf-8")


def test_an_operation_is_written_as_apollo_and_urql_send_it(tmp_path: Path) -> None:
    write(
        tmp_path,
        "donor.graphql",
        "# a comment\nquery Donor($id: ID!) { donor(id: $id) { id totals { amount } } }",
    )

    [operation] = build_manifest(tmp_path)["operations"]

    # Printed, __typename in every selection set below the root, hashed as the clients hash.
    assert operation["body"] == (
        "query Donor($id: ID!) {\n  donor(id: $id) {\n    id\n    totals {\n      amount\n"
        "      __typename\n    }\n    __typename\n  }\n}"
    )
    assert operation["id"] == sha256_hex(operation["body"])
    assert (operation["name"], operation["type"]) == ("Donor", "query")


def test_each_operation_of_a_file_takes_the_fragments_it_uses(tmp_path: Path) -> None:
    write(
        tmp_path,
        "ops.graphql",
        "fragment Sums on Donor { totals { amount } }\n"
        "query A($id: ID!) { donor(id: $id) { ...Sums } }\n"
        "query B($id: ID!) { donationCount(donorId: $id) }",
    )

    bodies = {op["name"]: op["body"] for op in build_manifest(tmp_path)["operations"]}

    assert "fragment Sums on Donor" in bodies["A"]
    assert "fragment" not in bodies["B"]


def test_apollo_and_code_generator_manifests_are_merged_as_written(tmp_path: Path) -> None:
    write(tmp_path, "count.graphql", "query DonationCount($d: ID!) { donationCount(donorId: $d) }")
    apollo = {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [{"id": "apollo-1", "name": "Count", "type": "query", "body": COUNT}],
    }
    write(tmp_path, "web.json", json.dumps(apollo))
    write(
        tmp_path,
        "mobile.json",
        json.dumps({"5f1d7c3e": "query M($x: ID!) { donationCount(donorId: $x) }"}),
    )
    write(tmp_path, "admin.json", json.dumps({"0b9e": "query Admin { __typename }"}))

    manifest = build_manifest(tmp_path)

    by_id = {op["id"]: op for op in manifest["operations"]}
    assert by_id["apollo-1"]["body"] == COUNT
    assert by_id["0b9e"] == {
        "id": "0b9e",
        "name": "Admin",
        "type": "query",
        "body": "query Admin { __typename }",
    }
    assert len(TrustedDocuments(parse_manifest(manifest))) == 4


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("bad.graphql", "query Q { noSuchField }", "noSuchField"),
        ("bad.graphql", '{ donationCount(donorId: "x") }', "needs a name"),
        ("bad.graphql", "query Q {", "Syntax Error"),
        ("bad.json", json.dumps({"x": "query Q { noSuchField }"}), "noSuchField"),
        ("bad.json", "[1, 2]", "expected an Apollo"),
    ],
)
def test_a_document_that_does_not_fit_the_schema_stops_the_build(
    tmp_path: Path, name: str, content: str, reason: str
) -> None:
    write(tmp_path, name, content)

    with pytest.raises(DocumentsError, match=reason):
        build_manifest(tmp_path)


def test_one_id_for_two_documents_stops_the_build(tmp_path: Path) -> None:
    write(tmp_path, "a.json", json.dumps({"same-id": COUNT}))
    write(tmp_path, "b.json", json.dumps({"same-id": "query Other { __typename }"}))

    with pytest.raises(DocumentsError, match="names two documents"):
        build_manifest(tmp_path)
