"""A real OpenID Provider for the tests: oidc-provider (Node.js) run by tests/idp/provider.mjs.

The tests talk to the same kind of provider the ledger meets in production: discovery, a JWKS,
signed JWT access tokens for resource servers (RFC 8707), client credentials, the code flow with
PKCE and a login page, refresh tokens and RP-initiated logout. This module only runs it; what the
ledger's tests configure (clients, accounts, resources) is theirs to write.

    with OpenIDProvider(tmp_path, {"jwks": {"keys": [private_jwk("RSA", "k1")]}, ...}) as idp:
        token = idp.client_credentials_token("robot", "secret", "https://ledger.example/api")
        idp.restart(jwks={"keys": [private_jwk("RSA", "k2"), old_key]})  # rotate, same issuer

The config's fields are listed at the top of tests/idp/provider.mjs (port, jwks, clients with
extra_claims and token_ttl, resources, accounts, claims, id_token_ttl, access_token_ttl,
refresh_token_ttl, admin_token); `port` and `admin_token` are filled in here when absent. State
lives in the Node process: a restart forgets sessions, grants and refresh tokens.

Call `provider_available()` first (the `openid_provider` context manager does), so that a
machine without Node.js or `npm ci --prefix tests/idp` skips with instructions; CI fails instead.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from tests.no_skips_in_ci import IN_CI

IDP_DIR = Path(__file__).resolve().parent / "idp"
SCRIPT = IDP_DIR / "provider.mjs"
READY_TIMEOUT = 15.0

_PUBLIC_MEMBERS = {
    "RSA": ("kty", "n", "e"),
    "EC": ("kty", "crv", "x", "y"),
    "OKP": ("kty", "crv", "x"),
}


class OpenIDProviderError(RuntimeError):
    """The provider did not start, or refused a request (the message carries its answer)."""


def private_jwk(kind: str = "RSA", kid: str | None = None) -> dict[str, Any]:
    """A new private signing JWK: "RSA" (RS256), "EC" (P-256, ES256) or "OKP" (Ed25519, EdDSA)."""
    if kind == "RSA":
        jwk = RSAAlgorithm.to_jwk(rsa.generate_private_key(65537, 2048), as_dict=True)
        alg = "RS256"
    elif kind == "EC":
        jwk = ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()), as_dict=True)
        alg = "ES256"
    elif kind == "OKP":
        jwk = OKPAlgorithm.to_jwk(ed25519.Ed25519PrivateKey.generate(), as_dict=True)
        alg = "EdDSA"
    else:
        raise ValueError(f"unknown key kind {kind!r}: RSA, EC or OKP")
    # PyJWT marks private RSA JWKs key_ops ["sign"], and oidc-provider then will not verify
    # with them (id_token_hint at logout fails): "use": "sig" says all that is needed.
    jwk.pop("key_ops", None)
    return {**jwk, "kid": kid or secrets.token_hex(8), "alg": alg, "use": "sig"}


def public_jwk(jwk: dict[str, Any]) -> dict[str, Any]:
    """The public half of a JWK made by `private_jwk` (what the provider's JWKS publishes)."""
    members = _PUBLIC_MEMBERS[jwk["kty"]] + ("kid", "alg", "use")
    return {name: jwk[name] for name in members if name in jwk}


def provider_available() -> None:
    """Skip (fail in CI) unless Node.js and tests/idp's packages are installed."""
    missing = []
    if shutil.which("node") is None:
        missing.append("Node.js (`node` on PATH)")
    if not (IDP_DIR / "node_modules" / "oidc-provider").is_dir():
        missing.append("its packages: run `npm ci --prefix tests/idp`")
    if missing:
        message = "The test OpenID Provider needs " + " and ".join(missing) + "."
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OpenIDProvider:
    """One oidc-provider process on 127.0.0.1; its port (so its issuer) survives restarts."""

    def __init__(self, workdir: Path, config: dict[str, Any]) -> None:
        self.workdir = Path(workdir)
        self.config = copy.deepcopy(config)
        self.config.setdefault("admin_token", secrets.token_urlsafe(24))
        self.config_path = self.workdir / "openid-provider.json"
        self.log_path = self.workdir / "openid-provider.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._discovery: dict[str, Any] | None = None

    @property
    def issuer(self) -> str:
        if "port" not in self.config:
            raise OpenIDProviderError("the provider has no port before its first start()")
        return f"http://127.0.0.1:{self.config['port']}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> OpenIDProvider:
        if self.running:
            raise OpenIDProviderError("the provider is already running")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config.setdefault("port", _free_port())
        # The config holds private keys: readable by this user only.
        fd = os.open(self.config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            json.dump(self.config, file, indent=2)
        with self.log_path.open("ab") as log:
            offset = log.tell()
            self._process = subprocess.Popen(
                ["node", str(SCRIPT), str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=IDP_DIR,
            )
        self._discovery = None
        self._wait_until_ready(offset)
        return self

    def _wait_until_ready(self, offset: int) -> None:
        ready = f"ready {self.issuer}"
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            output = self._log_since(offset)
            if ready in output.splitlines():
                return
            assert self._process is not None
            code = self._process.poll()
            if code is not None or time.monotonic() > deadline:
                late = f"was not ready in {READY_TIMEOUT:g} s"
                what = f"exited with {code}" if code is not None else late
                self.stop()
                raise OpenIDProviderError(
                    f"The test OpenID Provider {what} ({self.log_path}):\n{output.strip()}"
                )
            time.sleep(0.02)

    def _log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", "replace")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def restart(self, **changes: Any) -> OpenIDProvider:
        """Stop, apply config changes (e.g. `jwks={"keys": [...]}`) and start on the same port."""
        self.stop()
        self.config.update(copy.deepcopy(changes))
        return self.start()

    def __enter__(self) -> OpenIDProvider:
        if not self.running:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- talking to it ---------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        """The provider's /.well-known/openid-configuration (fetched once per start)."""
        if self._discovery is None:
            response = httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=10)
            response.raise_for_status()
            self._discovery = response.json()
        return self._discovery

    def jwks(self) -> dict[str, Any]:
        """The public JWKS the provider publishes at its jwks_uri."""
        response = httpx.get(self.discovery()["jwks_uri"], timeout=10)
        response.raise_for_status()
        return dict(response.json())

    def token_request(
        self, client_id: str, client_secret: str, data: dict[str, str]
    ) -> httpx.Response:
        """POST `data` to the token endpoint as this client (basic, or post if so registered)."""
        clients = self.config.get("clients", [])
        client = next((c for c in clients if c.get("client_id") == client_id), {})
        headers = {}
        if client.get("token_endpoint_auth_method") == "client_secret_post":
            data = {**data, "client_id": client_id, "client_secret": client_secret}
        else:  # client_secret_basic: RFC 6749 2.3.1 form-encodes both halves first
            headers["Authorization"] = "Basic " + _b64(
                f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
            )
        endpoint = self.discovery()["token_endpoint"]
        return httpx.post(endpoint, data=data, headers=headers, timeout=10)

    def client_credentials_token(
        self, client_id: str, client_secret: str, resource: str, scope: str | None = None
    ) -> str:
        """A client-credentials access token for `resource` (a JWT for configured resources)."""
        data = {"grant_type": "client_credentials", "resource": resource}
        if scope is not None:
            data["scope"] = scope
        response = self.token_request(client_id, client_secret, data)
        if response.status_code != 200:
            raise OpenIDProviderError(
                f"the provider refused a client_credentials token for {client_id} "
                f"({response.status_code}): {response.text}"
            )
        return str(response.json()["access_token"])

    def disable_account(self, account_id: str) -> None:
        """From now on the account cannot sign in, and its refresh tokens get invalid_grant."""
        response = httpx.post(
            f"{self.issuer}/test-admin/accounts/{quote(account_id, safe='')}/disable",
            headers={"Authorization": f"Bearer {self.config['admin_token']}"},
            timeout=10,
        )
        if response.status_code != 204:
            raise OpenIDProviderError(
                f"disabling {account_id} failed ({response.status_code}): {response.text}"
            )


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")


@contextmanager
def openid_provider(workdir: Path, config: dict[str, Any]) -> Iterator[OpenIDProvider]:
    """A started provider, stopped afterwards; skips (fails in CI) without Node.js/packages.

    For a fixture: `with openid_provider(tmp_path, config) as idp: yield idp`."""
    provider_available()
    with OpenIDProvider(workdir, config) as provider:
        yield provider
