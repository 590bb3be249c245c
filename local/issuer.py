"""The local development issuer: the identity provider of `AUTH=jwt make run` and `make token`.

It stands where Cognito (or any OIDC provider) stands in AWS: an RSA key pair, created on
first use under ``.local/issuer/`` (git-ignored; ``LOCAL_ISSUER_DIR`` moves it), whose
public half the local server publishes as a JWKS, and tokens shaped like Cognito's access
tokens: ``client_id`` as the audience, ``scope`` as a space-separated string.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from donations.constants import DEFAULT_DONOR_ID_CLAIM

PROJECT_ROOT: Final = Path(__file__).resolve().parents[1]
ENV_ISSUER_DIR: Final = "LOCAL_ISSUER_DIR"
# The one app client the local authorizer accepts, as API Gateway's `jwtAudience` would.
LOCAL_AUDIENCE: Final = "donations-local"
TOKEN_LIFETIME_SECONDS: Final = 3600
ALGORITHM: Final = "RS256"
JWKS_PATH: Final = "/.well-known/jwks.json"
DISCOVERY_PATH: Final = "/.well-known/openid-configuration"
# The client a token without a donor stands for: a backend using client credentials.
LOCAL_CLIENT_SUBJECT: Final = "local-backend"


def issuer_url(host: str, port: int | str) -> str:
    """The local server is its own issuer, so `iss` names where its JWKS is published."""
    return f"http://{host}:{port}"


def issuer_dir() -> Path:
    return Path(os.environ.get(ENV_ISSUER_DIR) or PROJECT_ROOT / ".local" / "issuer")


@dataclass(frozen=True)
class LocalIssuer:
    url: str
    private_key: rsa.RSAPrivateKey

    @classmethod
    def load_or_create(cls, url: str, directory: Path | None = None) -> LocalIssuer:
        """The issuer whose key lives in ``directory``; the key is made there on first use."""
        return cls(url, _load_or_create_key((directory or issuer_dir()) / "private-key.pem"))

    @property
    def kid(self) -> str:
        """The key's id: its RFC 7638 thumbprint, so a new key pair gets a new id."""
        jwk = self.public_jwk(with_kid=False)
        canonical = json.dumps(
            {name: jwk[name] for name in ("e", "kty", "n")}, separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]

    def public_jwk(self, *, with_kid: bool = True) -> dict[str, Any]:
        from jwt.algorithms import RSAAlgorithm

        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        jwk.update({"alg": ALGORITHM, "use": "sig"})
        if with_kid:
            jwk["kid"] = self.kid
        return jwk

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk()]}

    def discovery(self) -> dict[str, Any]:
        """The OpenID discovery document API Gateway reads to find the JWKS."""
        return {
            "issuer": self.url,
            "jwks_uri": f"{self.url}{JWKS_PATH}",
            "id_token_signing_alg_values_supported": [ALGORITHM],
        }

    def mint(
        self,
        *,
        scopes: Iterable[str] = (),
        donor: str | None = None,
        donor_id_claim: str = DEFAULT_DONOR_ID_CLAIM,
        audience: str = LOCAL_AUDIENCE,
        lifetime: int = TOKEN_LIFETIME_SECONDS,
        issued_at: int | None = None,
    ) -> str:
        """A signed access token: scopes for a backend, a donor claim for a signed-in donor."""
        import jwt

        now = int(time.time()) if issued_at is None else issued_at
        claims: dict[str, Any] = {
            "iss": self.url,
            "sub": LOCAL_CLIENT_SUBJECT,
            "client_id": audience,
            "token_use": "access",
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": secrets.token_hex(8),
        }
        scope = " ".join(scopes)
        if scope:
            claims["scope"] = scope
        if donor:
            claims[donor_id_claim] = donor
        return jwt.encode(claims, self.private_key, algorithm=ALGORITHM, headers={"kid": self.kid})


def _load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # Written aside, then linked into place: linking fails if the file exists, so when
        # `make run` and `make token` both start first, one key wins and both use it.
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".key-")
        try:
            os.chmod(temporary, 0o600)
            with os.fdopen(descriptor, "wb") as file:
                file.write(pem)
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise TypeError(f"{path} does not hold an RSA private key")
    return loaded
