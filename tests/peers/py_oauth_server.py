#!/usr/bin/env python3
"""OAuth-protected MCP peer for the OAuth interop tests, built on the official Python SDK (`mcp`
2.3.0): the SDK's own authorization-server routes and bearer middleware, with an in-memory
provider written for the tests.

Run it with the venv made by scripts/install-peers.sh:

    .peers/venv/bin/python tests/peers/py_oauth_server.py --port N [--token-ttl S] [--resource-mismatch]

Binds 127.0.0.1 only; `--port 0` picks a free port. Once the socket listens, one line goes to
stderr: `py_oauth_server: listening on http://127.0.0.1:PORT/mcp`.

What the SDK serves (unchanged): `/.well-known/oauth-authorization-server` (RFC 8414),
`/.well-known/oauth-protected-resource/mcp` (RFC 9728), `/authorize` (PKCE S256), `/token`
(authorization code and refresh token grants, PKCE check), `/register` (RFC 7591; a client may
ask only for the scopes in VALID_SCOPES, and is then bound to the scopes it registered with),
`/revoke`, and Streamable HTTP at `/mcp` behind the SDK's bearer middleware (scope `mcp` required,
tokens checked against the resource they were issued for).

The provider (this file):
- `authorize()` approves at once: the "consent screen" is the provider saying yes, so the
  redirect goes straight back to the client's `redirect_uri` with a fresh code, the client's
  `state` and `iss`.
- Access tokens live `--token-ttl` seconds (default 3600; `POST /test/ttl {"seconds": N}`
  changes it for tokens issued from then on). Refresh tokens rotate: a refresh spends the old
  one, and spending a spent, revoked or unknown refresh token is refused (`invalid_grant`) and
  counted as a rejected refresh.
- It counts what the authorization server did; `GET /test/counters` returns the counts as JSON:
  `registrations`, `authorizations` (logins: `/authorize` approvals), `authorization_scopes` (the
  scopes each authorization asked for, in order), `code_exchanges`, `refreshes` (successful),
  `rejected_refreshes`, `revocations`.
- `POST /test/revoke-refresh` revokes every refresh token it issued (as an administrator
  would); `/test/*` routes need no token (they are the test's back door, not MCP).

Tools: `echo(text)` -> text (scope `mcp`); `admin_echo(text)` -> "admin: {text}", which needs
scope `admin` too: a call with a token that lacks it is answered `403` with
`WWW-Authenticate: Bearer error="insufficient_scope", scope="admin", ...` by a middleware in
front of the SDK's (the SDK's bearer middleware knows only server-wide required scopes).

`--resource-mismatch`: the protected-resource metadata names another resource
(`http://127.0.0.1:PORT/elsewhere`) than the server the client talks to (`.../mcp`); a client
must refuse to authorize for it.
"""

from __future__ import annotations

import argparse
import json
import secrets
import socket
import sys
import time
import warnings

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    RefreshToken,
    construct_redirect_uri,
)
from mcp.server.auth.routes import build_resource_metadata_url
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from mcp.shared.exceptions import MCPDeprecationWarning

warnings.filterwarnings("ignore", category=MCPDeprecationWarning)

HOST = "127.0.0.1"
BASE_SCOPE = "mcp"
ADMIN_SCOPE = "admin"
VALID_SCOPES = [BASE_SCOPE, ADMIN_SCOPE]
LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class TestProvider:
    """An in-memory `OAuthAuthorizationServerProvider` that approves every authorization and
    counts what it does."""

    def __init__(self, issuer: str, token_ttl: int) -> None:
        self.issuer = issuer
        self.token_ttl = token_ttl
        self.clients: dict[str, OAuthClientInformationFull] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.counters: dict[str, object] = {
            "registrations": 0,
            "authorizations": 0,
            "authorization_scopes": [],
            "code_exchanges": 0,
            "refreshes": 0,
            "rejected_refreshes": 0,
            "revocations": 0,
        }

    def count(self, name: str) -> None:
        self.counters[name] = int(self.counters[name]) + 1  # type: ignore[arg-type]

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        assert client_info.client_id is not None
        self.clients[client_info.client_id] = client_info
        self.count("registrations")

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        # The consent step: approved at once.
        self.count("authorizations")
        self.counters["authorization_scopes"].append(list(params.scopes or []))  # type: ignore[union-attr]
        code = secrets.token_urlsafe(32)
        assert client.client_id is not None
        self.codes[code] = AuthorizationCode(
            code=code,
            scopes=params.scopes or [],
            expires_at=time.time() + 300,
            client_id=client.client_id,
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
            subject="test-user",
        )
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state, iss=self.issuer)

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        return self.codes.get(authorization_code)

    def issue(self, client_id: str, scopes: list[str], resource: str | None) -> OAuthToken:
        access = "at-" + secrets.token_urlsafe(24)
        refresh = "rt-" + secrets.token_urlsafe(24)
        ttl = self.token_ttl
        self.access_tokens[access] = AccessToken(
            token=access,
            client_id=client_id,
            scopes=scopes,
            expires_at=int(time.time()) + ttl,
            resource=resource,
            subject="test-user",
        )
        self.refresh_tokens[refresh] = RefreshToken(
            token=refresh, client_id=client_id, scopes=scopes, resource=resource, subject="test-user"
        )
        return OAuthToken(
            access_token=access,
            token_type="Bearer",
            expires_in=ttl,
            refresh_token=refresh,
            scope=" ".join(scopes) if scopes else None,
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        # A code is spent once.
        self.codes.pop(authorization_code.code, None)
        self.count("code_exchanges")
        return self.issue(authorization_code.client_id, authorization_code.scopes, authorization_code.resource)

    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str) -> RefreshToken | None:
        token = self.refresh_tokens.get(refresh_token)
        if token is None:
            # Spent (rotated), revoked or never issued: the SDK answers invalid_grant.
            self.count("rejected_refreshes")
        return token

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        # Rotation: the refresh token is spent by this exchange.
        self.refresh_tokens.pop(refresh_token.token, None)
        self.count("refreshes")
        return self.issue(refresh_token.client_id, scopes, refresh_token.resource)

    async def load_access_token(self, token: str) -> AccessToken | None:
        found = self.access_tokens.get(token)
        if found is None or (found.expires_at is not None and found.expires_at < int(time.time())):
            return None
        return found

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        self.count("revocations")
        self.access_tokens.pop(token.token, None)
        self.refresh_tokens.pop(token.token, None)

    def revoke_all_refresh_tokens(self) -> int:
        n = len(self.refresh_tokens)
        self.refresh_tokens.clear()
        return n


class StepUpMiddleware:
    """Answers a `tools/call` of `admin_echo` made with a valid token that lacks scope `admin`
    with `403 insufficient_scope` and the scope it needs, as the MCP authorization spec's
    step-up flow describes. Everything else goes to the SDK's app unchanged."""

    def __init__(self, app, provider: TestProvider, resource_metadata_url: str) -> None:
        self.app = app
        self.provider = provider
        self.resource_metadata_url = resource_metadata_url

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/mcp":
            await self.app(scope, receive, send)
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if self.needs_admin(body) and await self.lacks_admin(scope):
            await self.forbid(send)
            return
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    def needs_admin(body: bytes) -> bool:
        try:
            msg = json.loads(body)
        except ValueError:
            return False
        msgs = msg if isinstance(msg, list) else [msg]
        return any(
            isinstance(m, dict)
            and m.get("method") == "tools/call"
            and isinstance(m.get("params"), dict)
            and m["params"].get("name") == "admin_echo"
            for m in msgs
        )

    async def lacks_admin(self, scope) -> bool:
        auth = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        if not auth.lower().startswith("bearer "):
            return False  # the SDK answers 401
        token = await self.provider.load_access_token(auth[7:])
        return token is not None and ADMIN_SCOPE not in token.scopes

    async def forbid(self, send) -> None:
        www = (
            f'Bearer error="insufficient_scope", scope="{ADMIN_SCOPE}", '
            f'resource_metadata="{self.resource_metadata_url}", '
            f'error_description="admin_echo needs scope {ADMIN_SCOPE}"'
        )
        body = json.dumps({"error": "insufficient_scope", "error_description": "admin_echo needs scope admin"})
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", www.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})


def build(port: int, token_ttl: int, resource_mismatch: bool, log_level: str):
    issuer = f"http://{HOST}:{port}"
    resource = f"{issuer}/elsewhere" if resource_mismatch else f"{issuer}/mcp"
    # Strings, not AnyHttpUrl: AuthSettings keeps a path-less issuer without a trailing slash.
    settings = AuthSettings(
        issuer_url=issuer,  # type: ignore[arg-type]
        resource_server_url=resource,  # type: ignore[arg-type]
        validate_token_resource=True,
        required_scopes=[BASE_SCOPE],
        client_registration_options=ClientRegistrationOptions(enabled=True, valid_scopes=VALID_SCOPES),
        revocation_options=RevocationOptions(enabled=True),
    )
    # RFC 9207: the `iss` of the login answer is the metadata's issuer, spelled the same way.
    provider = TestProvider(str(settings.issuer_url), token_ttl)
    server = MCPServer("py-oauth-peer", log_level=log_level, auth_server_provider=provider, auth=settings)

    @server.tool()
    def echo(text: str) -> str:
        """Echo the text back."""
        return text

    @server.tool()
    def admin_echo(text: str) -> str:
        """Echo the text back; needs scope `admin`."""
        token = get_access_token()
        if token is None or ADMIN_SCOPE not in token.scopes:
            raise ToolError("admin_echo needs scope admin")  # the middleware should have said 403
        return f"admin: {text}"

    @server.custom_route("/test/counters", methods=["GET"])
    async def counters(_: Request) -> Response:
        return JSONResponse(provider.counters)

    @server.custom_route("/test/revoke-refresh", methods=["POST"])
    async def revoke_refresh(_: Request) -> Response:
        return JSONResponse({"revoked": provider.revoke_all_refresh_tokens()})

    @server.custom_route("/test/ttl", methods=["POST"])
    async def set_ttl(request: Request) -> Response:
        provider.token_ttl = int((await request.json())["seconds"])
        return JSONResponse({"seconds": provider.token_ttl})

    app = server.streamable_http_app(host=HOST)
    return StepUpMiddleware(app, provider, str(build_resource_metadata_url(settings.resource_server_url)))  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True, help="HTTP port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--token-ttl", type=int, default=3600, help="access token lifetime in seconds")
    parser.add_argument(
        "--resource-mismatch", action="store_true", help="protected-resource metadata names another resource"
    )
    parser.add_argument("--log-level", default="WARNING", choices=LOG_LEVELS, type=str.upper)
    args = parser.parse_args()

    import uvicorn

    # Bind first so that --port 0 works and the issuer URL carries the real port.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, args.port))
    sock.listen(2048)
    sock.setblocking(False)
    port = sock.getsockname()[1]
    app = build(port, args.token_ttl, args.resource_mismatch, args.log_level)
    print(f"py_oauth_server: listening on http://{HOST}:{port}/mcp", file=sys.stderr, flush=True)
    config = uvicorn.Config(
        app,
        log_level=args.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=1,
        lifespan="on",
    )
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
