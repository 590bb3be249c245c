"""How a request's document is found: text, automatic persisted query, trusted document.

``PersistedDocuments`` over the in-memory registry, no HTTP: the protocol's rules in
milliseconds. tests/integration/test_persisted_documents.py runs the same through the
handler, the table and both media types.
"""

from __future__ import annotations

from typing import Any

import pytest

from donations.domain.errors import StoreUnavailableError
from schema.documents import (
    BAD_REQUEST,
    PERSISTED_QUERY_HASH_MISMATCH,
    PERSISTED_QUERY_NOT_FOUND,
    TRUSTED_DOCUMENT_REQUIRED,
    DocumentRefused,
    ManifestError,
    PersistedDocuments,
    TrustedDocument,
    TrustedDocuments,
    parse_manifest,
    sha256_hex,
)
from tests.support.memory import InMemoryDocumentRegistry

COUNT = "query Count($id: ID!) { donationCount(donorId: $id) }"
TRUSTED = "query DonationCount($donorId: ID!) {\n  donationCount(donorId: $donorId)\n}"
TRUSTED_ID = sha256_hex(TRUSTED)


def persisted(sha256: str, **extra: Any) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256, **extra}}


def documents(
    registry: InMemoryDocumentRegistry | None = None, *, require: bool = False, cache: int = 8
) -> PersistedDocuments:
    trusted = TrustedDocuments([TrustedDocument(TRUSTED_ID, TRUSTED, "DonationCount", "query")])
    return PersistedDocuments(
        registry or InMemoryDocumentRegistry(), trusted, require_trusted=require, cache_size=cache
    )


def refusal_code(persisted_documents: PersistedDocuments, query: str | None, ext: Any) -> str:
    with pytest.raises(DocumentRefused) as refused:
        persisted_documents.resolve(query, ext)
    return refused.value.code


def test_an_unknown_hash_asks_the_client_to_send_the_document() -> None:
    with pytest.raises(DocumentRefused) as refused:
        documents().resolve(None, persisted(sha256_hex(COUNT)))

    # What Apollo's link (code or message) and urql's exchange (message) look for.
    assert refused.value.code == PERSISTED_QUERY_NOT_FOUND
    assert str(refused.value) == "PersistedQueryNotFound"


def test_a_document_sent_with_its_hash_is_found_by_hash_once_registered() -> None:
    registry = InMemoryDocumentRegistry()
    first = documents(registry)
    sent = first.resolve(COUNT, persisted(sha256_hex(COUNT), miss=True))
    assert sent.text == COUNT

    first.register(sent)

    assert registry.documents == {sha256_hex(COUNT): COUNT}
    # Another container, with an empty cache, finds it in the shared registry.
    assert documents(registry).resolve(None, persisted(sha256_hex(COUNT))).text == COUNT


def test_nothing_is_registered_until_the_view_says_the_document_ran() -> None:
    registry = InMemoryDocumentRegistry()

    documents(registry).resolve(COUNT, persisted(sha256_hex(COUNT)))

    assert registry.documents == {}


def test_a_hash_that_is_not_the_documents_is_refused() -> None:
    code = refusal_code(documents(), COUNT, persisted(sha256_hex(COUNT + " ")))

    assert code == PERSISTED_QUERY_HASH_MISMATCH


@pytest.mark.parametrize(
    "extensions",
    [
        {"persistedQuery": "abc"},
        {"persistedQuery": {"version": 2, "sha256Hash": "abc"}},
        {"persistedQuery": {"version": 1}},
        {"persistedQuery": {"version": 1, "sha256Hash": 12}},
        {"persistedQuery": {"version": 1, "sha256Hash": ""}},
        {"persistedQuery": {"version": 1, "sha256Hash": "a" * 129}},
        {"persistedQuery": {"version": 1, "sha256Hash": "caf\u00e9"}},
    ],
)
def test_a_malformed_persisted_query_extension_is_a_bad_request(extensions: Any) -> None:
    assert refusal_code(documents(), None, extensions) == BAD_REQUEST


def test_a_trusted_document_runs_by_its_id_without_a_lookup() -> None:
    registry = InMemoryDocumentRegistry()

    resolved = documents(registry).resolve(None, persisted(TRUSTED_ID))

    assert resolved.text == TRUSTED
    assert resolved.register_as is None
    assert registry.lookups == 0


def test_a_warm_container_finds_a_registered_hash_without_reading_the_registry() -> None:
    registry = InMemoryDocumentRegistry()
    registry.documents[sha256_hex(COUNT)] = COUNT
    container = documents(registry)

    for _ in range(3):
        assert container.resolve(None, persisted(sha256_hex(COUNT))).text == COUNT

    assert registry.lookups == 1


def test_the_per_container_cache_is_bounded() -> None:
    registry = InMemoryDocumentRegistry()
    texts = [f"query Q{n} {{ donationCount(donorId: $id) }}" for n in range(3)]
    registry.documents.update({sha256_hex(text): text for text in texts})
    container = documents(registry, cache=2)
    for text in texts:
        container.resolve(None, persisted(sha256_hex(text)))

    container.resolve(None, persisted(sha256_hex(texts[0])))  # evicted: read again

    assert registry.lookups == 4


def test_a_document_with_string_literals_runs_but_is_not_registered() -> None:
    # It could name a donor, and `make forget` cannot find a donor inside a registration.
    registry = InMemoryDocumentRegistry()
    literal = '{ donationCount(donorId: "donor-42") }'
    container = documents(registry)

    resolved = container.resolve(literal, persisted(sha256_hex(literal)))
    container.register(resolved)

    assert resolved.text == literal
    assert registry.documents == {}


class BusyRegistry(InMemoryDocumentRegistry):
    def find(self, sha256: str) -> str | None:
        raise StoreUnavailableError("ThrottlingException")

    def register(self, sha256: str, document: str) -> None:
        raise StoreUnavailableError("ThrottlingException")


def test_busy_storage_costs_persisted_queries_their_saving_not_the_request() -> None:
    container = documents(BusyRegistry())

    # The client is told to send the document, which then needs no lookup...
    assert refusal_code(container, None, persisted(sha256_hex(COUNT))) == PERSISTED_QUERY_NOT_FOUND
    resolved = container.resolve(COUNT, persisted(sha256_hex(COUNT)))
    # ... and a registration that fails after the operation ran does not fail the request.
    container.register(resolved)

    assert resolved.text == COUNT


def test_requiring_trusted_documents_refuses_every_other_document() -> None:
    locked = documents(InMemoryDocumentRegistry(), require=True)

    assert refusal_code(locked, COUNT, None) == TRUSTED_DOCUMENT_REQUIRED
    assert refusal_code(locked, None, persisted(sha256_hex(COUNT))) == TRUSTED_DOCUMENT_REQUIRED
    assert refusal_code(locked, COUNT, persisted(sha256_hex(COUNT))) == TRUSTED_DOCUMENT_REQUIRED


def test_requiring_trusted_documents_runs_them_by_id_or_by_their_exact_text() -> None:
    locked = documents(InMemoryDocumentRegistry(), require=True)

    assert locked.resolve(None, persisted(TRUSTED_ID)).text == TRUSTED
    assert locked.resolve(TRUSTED, None).text == TRUSTED
    assert locked.resolve(TRUSTED, persisted(TRUSTED_ID)).register_as is None
    assert refusal_code(locked, TRUSTED + "\n", None) == TRUSTED_DOCUMENT_REQUIRED


def test_apollo_and_code_generator_manifests_are_both_read() -> None:
    apollo = {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [{"id": "a1", "name": "Count", "type": "query", "body": COUNT}],
    }
    codegen = {"b2": COUNT}

    [from_apollo] = parse_manifest(apollo)
    [from_codegen] = parse_manifest(codegen)

    assert from_apollo == TrustedDocument("a1", COUNT, "Count", "query")
    assert from_codegen == TrustedDocument("b2", COUNT)
    # Whatever id a tool chose, the text's SHA-256 finds it too.
    assert TrustedDocuments([from_codegen]).find(sha256_hex(COUNT)) == COUNT


@pytest.mark.parametrize(
    "manifest",
    [
        [],
        {"format": "apollo-persisted-query-manifest", "version": 2, "operations": []},
        {"format": "apollo-persisted-query-manifest", "version": 1},
        {"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id": 1}]},
        {"format": "something-else", "version": 1, "operations": []},
        {"id": ["not", "a", "document"]},
    ],
)
def test_anything_else_is_not_a_manifest(manifest: Any) -> None:
    with pytest.raises(ManifestError):
        parse_manifest(manifest)


def test_the_committed_manifest_loads() -> None:
    shipped = TrustedDocuments.load()

    assert {doc.name for doc in shipped} >= {"RecordDonation", "DonationCount", "Donor"}
    for document in shipped:
        assert shipped.find(document.id) == document.body
