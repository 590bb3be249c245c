"""Documents that arrive by reference: automatic persisted queries and trusted documents.

A request names what to run in one of three ways, and ``PersistedDocuments.resolve`` turns
each into the text that then goes through the same parser, validation rules and limits:

- the text itself (``query``);
- a hash only (``extensions.persistedQuery = {version: 1, sha256Hash}``, Apollo's automatic
  persisted queries): the text of a trusted document with that id, else one a client
  registered, else ``PERSISTED_QUERY_NOT_FOUND`` (message ``PersistedQueryNotFound``, what
  Apollo's and urql's links look for) so the client sends the text with its hash;
- the text with its hash: the hash is checked against the text, and the text registered
  under it once it has run without request errors (it parsed, validated and met every
  limit).

With ``require_trusted`` only the documents of the trusted-documents manifest run, by id or
as their exact text; anything else is refused with ``TRUSTED_DOCUMENT_REQUIRED``.

The manifest (``schema/trusted-documents.json``, written by ``make documents``) is read in
either format the usual tooling emits: Apollo's persisted-query manifest
(``{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id",
"name", "type", "body"}]}``) or GraphQL Code Generator's ``persisted-documents.json``
(``{"<id>": "<document>"}``).
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from graphql.language import Lexer, Source, TokenKind

from donations.domain.errors import StoreUnavailableError
from donations.domain.ports import DocumentRegistry
from donations.observability import count, logger

MANIFEST_PATH: Final = Path(__file__).with_name("trusted-documents.json")
APOLLO_MANIFEST_FORMAT: Final = "apollo-persisted-query-manifest"
PERSISTED_QUERY_VERSION: Final = 1
# Registered documents a warm container keeps, so a popular hash costs no read at all. A
# document is at most 2,000 tokens (schema.limits), typically well under 1 KB.
REGISTRY_CACHE_SIZE: Final = 256
# A SHA-256 in hex is 64 characters; other tools' ids (Code Generator's sha1, say) are shorter.
MAX_ID_LENGTH: Final = 128

PERSISTED_QUERY_NOT_FOUND: Final = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERY_HASH_MISMATCH: Final = "PERSISTED_QUERY_HASH_MISMATCH"
TRUSTED_DOCUMENT_REQUIRED: Final = "TRUSTED_DOCUMENT_REQUIRED"
BAD_REQUEST: Final = "BAD_REQUEST"


def sha256_hex(document: str) -> str:
    """The hash clients send for a document: SHA-256 of its exact text, in lower-case hex."""
    return hashlib.sha256(document.encode()).hexdigest()


class ManifestError(ValueError):
    """A manifest in neither format, or with a malformed entry."""


class DocumentRefused(Exception):
    """The request names a document this API will not run; nothing executed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class TrustedDocument:
    id: str
    body: str
    # Apollo's manifest names each operation and its type; Code Generator's does not.
    name: str | None = None
    type: str | None = None


def parse_manifest(data: object) -> list[TrustedDocument]:
    """The documents of a manifest in Apollo's format or GraphQL Code Generator's.

    Raises ``ManifestError`` for anything else.
    """
    if isinstance(data, dict) and "format" in data:
        if data.get("format") != APOLLO_MANIFEST_FORMAT or data.get("version") != 1:
            raise ManifestError(f"expected format {APOLLO_MANIFEST_FORMAT!r} version 1")
        operations = data.get("operations")
        if not isinstance(operations, list):
            raise ManifestError("an Apollo manifest needs an `operations` list")
        return [_apollo_operation(operation) for operation in operations]
    if isinstance(data, dict) and all(
        isinstance(key, str) and isinstance(value, str) for key, value in data.items()
    ):
        return [TrustedDocument(id=key, body=value) for key, value in data.items()]
    raise ManifestError("expected an Apollo persisted-query manifest or a {id: document} object")


def _apollo_operation(operation: object) -> TrustedDocument:
    if not isinstance(operation, dict):
        raise ManifestError("each operation must be an object")
    document_id, body = operation.get("id"), operation.get("body")
    if not isinstance(document_id, str) or not isinstance(body, str):
        raise ManifestError("each operation needs a string `id` and `body`")
    name, kind = operation.get("name"), operation.get("type")
    return TrustedDocument(
        id=document_id,
        body=body,
        name=name if isinstance(name, str) else None,
        type=kind if isinstance(kind, str) else None,
    )


class TrustedDocuments:
    """The manifest's documents, found by their id or by the hash of their text."""

    def __init__(self, documents: Iterable[TrustedDocument]) -> None:
        self._documents = tuple(documents)
        self._by_id = {document.id: document.body for document in self._documents}
        # Clients that send the text (or its SHA-256, Apollo's and urql's default) find it
        # too, whatever ids the tool that wrote the manifest chose.
        self._by_hash = {sha256_hex(document.body): document.body for document in self._documents}

    @classmethod
    def load(cls, path: Path = MANIFEST_PATH) -> TrustedDocuments:
        return cls(parse_manifest(json.loads(path.read_text(encoding="utf-8"))))

    def __iter__(self) -> Iterator[TrustedDocument]:
        return iter(self._documents)

    def __len__(self) -> int:
        return len(self._documents)

    def find(self, document_id: str) -> str | None:
        """The text of the document with this id, or whose text hashes to it."""
        return self._by_id.get(document_id) or self._by_hash.get(document_id)

    def holds(self, text: str) -> bool:
        return sha256_hex(text) in self._by_hash

    def operation(self, name: str) -> str | None:
        """The text of the manifest's operation with this name (GraphiQL's tabs show them)."""
        return next((doc.body for doc in self._documents if doc.name == name), None)


@dataclass(frozen=True, slots=True)
class ResolvedDocument:
    """What a request runs; ``register_as`` is the hash to keep its text under once it ran."""

    text: str | None
    register_as: str | None = None


class PersistedDocuments:
    """Resolves every request's document on one code path, and registers new ones."""

    def __init__(
        self,
        registry: DocumentRegistry,
        trusted: TrustedDocuments,
        *,
        require_trusted: bool = False,
        cache_size: int = REGISTRY_CACHE_SIZE,
    ) -> None:
        self._registry = registry
        self._trusted = trusted
        self._require_trusted = require_trusted
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._cache_size = cache_size

    @property
    def trusted(self) -> TrustedDocuments:
        return self._trusted

    def resolve(self, query: str | None, extensions: Mapping[str, Any] | None) -> ResolvedDocument:
        """The text the request asks to run; ``DocumentRefused`` if it may not run."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            if query is not None:
                self._check_trusted(query)
            return ResolvedDocument(query)
        requested = _requested_hash(persisted)
        if query is not None:
            return self._with_text(requested, query)
        text = self._trusted.find(requested)
        if text is not None:
            return ResolvedDocument(text)
        if self._require_trusted:
            raise DocumentRefused(
                TRUSTED_DOCUMENT_REQUIRED,
                "This API runs only trusted documents, and that id is not one of them.",
            )
        text = self._registered(requested)
        if text is None:
            logger.info("persisted query not found")
            count("PersistedQueryNotFound")
            raise DocumentRefused(PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound")
        return ResolvedDocument(text)

    def register(self, document: ResolvedDocument) -> None:
        """Keep a document that ran without request errors under its hash, if it should be.

        Never raises: the operation has run by now (a donation may be recorded), so a failed
        registration only means the client sends the text again next time.
        """
        sha256, text = document.register_as, document.text
        if sha256 is None or text is None:
            return
        if _holds_string_literals(text):
            # Registrations are kept for weeks and `make forget` cannot find a donor id
            # written into one; such documents run, but only with their text.
            logger.info("persisted query not registered", extra={"reason": "string literals"})
            return
        try:
            self._registry.register(sha256, text)
        except StoreUnavailableError:
            logger.warning("persisted query not registered", extra={"reason": "storage busy"})
            return
        self._remember(sha256, text)
        logger.info("persisted query registered")
        count("PersistedQueryRegistered")

    def _with_text(self, requested: str, query: str) -> ResolvedDocument:
        trusted_text = self._trusted.find(requested)
        if sha256_hex(query) != requested and trusted_text != query:
            raise DocumentRefused(
                PERSISTED_QUERY_HASH_MISMATCH,
                "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query's text.",
            )
        self._check_trusted(query)
        if trusted_text is not None or requested in self._cache:
            return ResolvedDocument(query)
        return ResolvedDocument(query, register_as=requested)

    def _check_trusted(self, query: str) -> None:
        if self._require_trusted and not self._trusted.holds(query):
            raise DocumentRefused(
                TRUSTED_DOCUMENT_REQUIRED,
                "This API runs only trusted documents: send the id of one in its manifest.",
            )

    def _registered(self, sha256: str) -> str | None:
        if sha256 in self._cache:
            self._cache.move_to_end(sha256)
            return self._cache[sha256]
        try:
            text = self._registry.find(sha256)
        except StoreUnavailableError:
            # The client then sends the text, which needs no lookup: busy storage costs
            # persisted queries their saving, not the request.
            logger.warning("persisted query lookup failed", extra={"reason": "storage busy"})
            return None
        if text is not None:
            self._remember(sha256, text)
        return text

    def _remember(self, sha256: str, text: str) -> None:
        self._cache[sha256] = text
        self._cache.move_to_end(sha256)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


def _requested_hash(persisted: object) -> str:
    if not isinstance(persisted, dict) or persisted.get("version") != PERSISTED_QUERY_VERSION:
        raise DocumentRefused(
            BAD_REQUEST, "extensions.persistedQuery must be {version: 1, sha256Hash: <hex>}."
        )
    requested = persisted.get("sha256Hash")
    if (
        not isinstance(requested, str)
        or not 0 < len(requested) <= MAX_ID_LENGTH
        or not (requested.isascii() and requested.isprintable())
    ):
        raise DocumentRefused(
            BAD_REQUEST, "extensions.persistedQuery.sha256Hash must be a hex SHA-256 hash."
        )
    return requested


def _holds_string_literals(text: str) -> bool:
    lexer = Lexer(Source(text))
    token = lexer.advance()
    while token.kind is not TokenKind.EOF:
        if token.kind in (TokenKind.STRING, TokenKind.BLOCK_STRING):
            return True
        token = lexer.advance()
    return False
