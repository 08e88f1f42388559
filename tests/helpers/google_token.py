"""A fake Google OAuth token endpoint, and a service-account JSON whose `token_uri` points at it.

The endpoint checks what google-auth sends (a JWT-bearer grant whose assertion is signed with the
service account's fresh RSA key) and hands out `fake-token-1`, `fake-token-2`, ... that expire
after `expires_in` seconds. It runs an aiohttp server in a thread of the test process, so that a
gateway in another process can reach it too.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_EMAIL = "palisade-test@test-project.iam.gserviceaccount.com"


@dataclass
class TokenServer:
    url: str
    credentials_file: Path
    expires_in: int
    issued: list[str] = field(default_factory=list)


@contextmanager
def google_token_server(directory: Path, expires_in: int = 3600) -> Iterator[TokenServer]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key()
    state = TokenServer(
        url="", credentials_file=directory / "service-account.json", expires_in=expires_in
    )

    async def token(request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        try:
            claims = jwt.decode(
                str(form.get("assertion")),
                public,
                algorithms=["RS256"],
                # google-auth names Google's endpoint whatever `token_uri` says.
                audience="https://oauth2.googleapis.com/token",
            )
        except jwt.PyJWTError as exc:
            return web.json_response({"error": "invalid_grant", "detail": str(exc)}, status=400)
        if claims.get("iss") != CLIENT_EMAIL:
            return web.json_response({"error": "invalid_grant"}, status=400)
        issued = f"fake-token-{len(state.issued) + 1}"
        state.issued.append(issued)
        return web.json_response(
            {"access_token": issued, "expires_in": state.expires_in, "token_type": "Bearer"}
        )

    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_post("/token", token)
    runner = web.AppRunner(app)

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        port: int = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return port

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    port = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    state.url = f"http://127.0.0.1:{port}/token"
    state.credentials_file.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "test-project",
                "private_key_id": "test-key-1",
                "private_key": pem,
                "client_email": CLIENT_EMAIL,
                "client_id": "1234567890",
                "token_uri": state.url,
            }
        )
    )
    try:
        yield state
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
