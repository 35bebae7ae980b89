"""
The lean HTTP/1.1 client of the order path: the response parser on byte streams cut every way,
and the client against real servers on 127.0.0.1 (aiohttp, plus a raw socket server for what
aiohttp never sends): keep-alive reuse, queueing, chunked and read-to-close bodies, status codes,
timeouts, dropped and expired connections, TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import ssl
from collections.abc import AsyncIterator
from collections.abc import Awaitable
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.http1 import Http1Client
from adapters.http1 import HttpResponse
from adapters.http1 import HttpTimeoutError
from adapters.http1 import HttpTransportError
from adapters.http1 import ResponseParser
from adapters.http1 import header_block

# -- the parser ------------------------------------------------------------------------------------

LENGTH_RESPONSE = (
    b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
    b'X-Extra:  spaced value \r\n\r\n{"id": 123}'
)
CHUNKED_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"4\r\nWiki\r\n6;name=ext\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\n"
)


def parse_in_pieces(raw: bytes, cuts: list[int], head_request: bool = False) -> HttpResponse:
    parser = ResponseParser(head_request)
    pieces = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    results = [parser.feed(piece) for piece in pieces]
    assert all(r is None for r in results[:-1]), "complete before the last byte"
    assert results[-1] is not None, "not complete after the last byte"
    return results[-1]


@pytest.mark.parametrize("raw", [LENGTH_RESPONSE, CHUNKED_RESPONSE], ids=["length", "chunked"])
def test_parser_gives_the_same_response_however_the_bytes_are_cut(raw: bytes) -> None:
    whole = parse_in_pieces(raw, [])
    for cut in range(1, len(raw)):
        assert parse_in_pieces(raw, [cut]) == whole
    assert parse_in_pieces(raw, list(range(1, len(raw)))) == whole  # one byte at a time


def test_parser_reads_status_headers_and_bodies() -> None:
    response = parse_in_pieces(LENGTH_RESPONSE, [])
    assert response.status == 201
    assert response.body == b'{"id": 123}'
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-extra"] == "spaced value"
    chunked = parse_in_pieces(CHUNKED_RESPONSE, [])
    assert chunked.body == b"Wikipedia in \r\n\r\nchunks."


def test_parser_skips_interim_responses_and_knows_bodyless_ones() -> None:
    raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
    response = parse_in_pieces(raw, [])
    assert (response.status, response.body) == (204, b"")
    head = parse_in_pieces(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", [], head_request=True)
    assert (head.status, head.body) == (200, b"")


def test_parser_keep_alive_follows_version_and_connection_header() -> None:
    cases = {
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n": True,
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n": False,
        b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n": False,
        b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n": True,
    }
    for raw, keep_alive in cases.items():
        parser = ResponseParser()
        assert parser.feed(raw) is not None
        assert parser.keep_alive is keep_alive, raw


def test_parser_reads_a_close_delimited_body_at_eof() -> None:
    parser = ResponseParser()
    assert parser.feed(b"HTTP/1.1 200 OK\r\n\r\npart one, ") is None
    assert parser.feed(b"part two") is None
    response = parser.feed_eof()
    assert response.body == b"part one, part two"
    assert parser.keep_alive is False


@pytest.mark.parametrize(
    "raw",
    [
        b"SMTP ready\r\n\r\n",
        b"HTTP/1.1 2x0 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY",
    ],
)
def test_parser_refuses_malformed_responses(raw: bytes) -> None:
    with pytest.raises(HttpTransportError):
        ResponseParser().feed(raw)


def test_parser_refuses_a_truncated_response_at_eof() -> None:
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    with pytest.raises(HttpTransportError, match="before the response was complete"):
        parser.feed_eof()


def test_extra_bytes_after_a_response_forbid_reuse() -> None:
    parser = ResponseParser()
    assert parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab") is not None
    assert parser.keep_alive is False


def test_header_block_refuses_line_breaks() -> None:
    assert header_block({"KEY": "k", "SIGN": "s"}) == b"KEY: k\r\nSIGN: s\r\n"
    with pytest.raises(ValueError, match="X-Bad"):
        header_block({"X-Bad": "a\r\nInjected: 1"})


# -- the client against aiohttp --------------------------------------------------------------------


class Venue:
    """An aiohttp app that records who asked what, with routes for each behaviour."""

    def __init__(self) -> None:
        self.peers: list[tuple[str, int]] = []
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.app = web.Application()
        self.app.router.add_route("*", "/echo", self.echo)
        self.app.router.add_get("/chunked", self.chunked)
        self.app.router.add_get("/status/{code}", self.status)
        self.app.router.add_get("/slow", self.slow)
        self.app.router.add_get("/drop", self.drop)

    async def _record(self, request: web.Request) -> bytes:
        body = await request.read()
        self.peers.append(request.transport.get_extra_info("peername")[:2])
        self.requests.append((request.method, request.path_qs, dict(request.headers), body))
        return body

    async def echo(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        return web.Response(body=body, headers={"X-Method": request.method})

    async def chunked(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for part in (b"first,", b"second,", b"x" * 70_000):
            await response.write(part)
        await response.write_eof()
        return response

    async def status(self, request: web.Request) -> web.Response:
        await self._record(request)
        code = int(request.match_info["code"])
        return web.json_response({"label": "SOME_LABEL", "message": "no"}, status=code)

    async def slow(self, request: web.Request) -> web.Response:
        await self._record(request)
        await asyncio.sleep(5)
        return web.Response(text="late")

    async def drop(self, request: web.Request) -> web.Response:
        await self._record(request)
        request.transport.close()
        await asyncio.sleep(1)
        return web.Response(text="never sent")


@pytest.fixture
async def venue() -> AsyncIterator[tuple[Venue, str]]:
    stand_in = Venue()
    server = TestServer(stand_in.app, host="127.0.0.1")
    await server.start_server()
    try:
        yield stand_in, f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()


@pytest.fixture
async def client_factory() -> AsyncIterator[Callable[..., Awaitable[Http1Client]]]:
    clients: list[Http1Client] = []

    async def make(base_url: str, *, warm: bool = True, **kwargs) -> Http1Client:
        client = Http1Client(base_url, **kwargs)
        clients.append(client)
        if warm:
            await client.connect()
        return client

    yield make
    for client in clients:
        await client.close()


async def test_requests_reuse_kept_alive_connections(venue, client_factory) -> None:
    stand_in, base = venue
    client = await client_factory(base, connections=2)
    assert client.open_connections == 2
    for i in range(5):
        response = await client.send("POST", f"/echo?i={i}", b"X-Test: 1\r\n", b"body %d" % i)
        assert (response.status, response.body) == (200, b"body %d" % i)
        assert response.headers["x-method"] == "POST"
    assert len(set(stand_in.peers)) == 1, "sequential requests went over one connection"
    method, target, headers, body = stand_in.requests[-1]
    assert (method, target, body) == ("POST", "/echo?i=4", b"body 4")
    assert headers["X-Test"] == "1"
    assert headers["Host"] == base.removeprefix("http://")


async def test_requests_beyond_the_pool_wait_for_a_connection(venue, client_factory) -> None:
    stand_in, base = venue
    client = await client_factory(base, connections=2)
    futures = [client.send("PUT", "/echo", b"", b"%d" % i) for i in range(7)]
    responses = await asyncio.gather(*futures)
    assert [r.body for r in responses] == [b"%d" % i for i in range(7)]
    assert len(set(stand_in.peers)) == 2


async def test_a_cold_client_opens_connections_on_demand(venue, client_factory) -> None:
    _, base = venue
    client = await client_factory(base, warm=False, connections=3)
    assert client.open_connections == 0
    response = await client.send("GET", "/echo")
    assert response.status == 200
    assert client.open_connections == 1


async def test_chunked_bodies_are_reassembled(venue, client_factory) -> None:
    _, base = venue
    client = await client_factory(base)
    response = await client.send("GET", "/chunked")
    assert response.body == b"first,second," + b"x" * 70_000
    # The connection stays usable after a chunked body.
    assert (await client.send("GET", "/echo")).status == 200


async def test_status_codes_and_bodies_come_back_as_sent(venue, client_factory) -> None:
    _, base = venue
    client = await client_factory(base)
    for code in (400, 404, 429, 500, 503):
        response = await client.send("GET", f"/status/{code}")
        assert response.status == code
        assert b"SOME_LABEL" in response.body


async def test_a_timeout_fails_the_request_and_retires_its_connection(
    venue, client_factory
) -> None:
    stand_in, base = venue
    client = await client_factory(base, connections=1, timeout_s=0.2)
    with pytest.raises(HttpTimeoutError):
        await client.send("GET", "/slow")
    # A late answer must never be read as the next request's: a new connection serves it.
    response = await client.send("POST", "/echo", b"", b"after")
    assert response.body == b"after"
    assert stand_in.peers[0] != stand_in.peers[-1]


async def test_a_dropped_connection_fails_the_request_then_reconnects(
    venue, client_factory
) -> None:
    stand_in, base = venue
    client = await client_factory(base, connections=1)
    with pytest.raises(HttpTransportError) as failure:
        await client.send("GET", "/drop")
    assert not isinstance(failure.value, HttpTimeoutError)
    response = await client.send("POST", "/echo", b"", b"again")
    assert response.body == b"again"
    assert stand_in.peers[0] != stand_in.peers[-1]


async def serve(app: web.Application, **kwargs) -> tuple[web.AppRunner, int]:
    """`app` on 127.0.0.1 with server options (TestServer does not pass them on)."""
    ssl_context = kwargs.pop("ssl_context", None)
    runner = web.AppRunner(app, access_log=None, **kwargs)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


async def test_connections_the_server_closes_while_idle_are_replaced() -> None:
    stand_in = Venue()
    runner, port = await serve(stand_in.app, keepalive_timeout=0.05)
    client = Http1Client(f"http://127.0.0.1:{port}", connections=1)
    try:
        await client.connect()
        assert (await client.send("GET", "/echo")).status == 200
        await asyncio.sleep(0.5)  # the server closes the idle connection; a new one is opened
        assert (await client.send("GET", "/echo")).status == 200
        assert len(set(stand_in.peers)) == 2
    finally:
        await client.close()
        await runner.cleanup()


async def test_idle_connections_are_retired_before_the_server_would(venue, client_factory) -> None:
    stand_in, base = venue
    client = await client_factory(base, connections=1, idle_timeout_s=0.05)
    assert (await client.send("GET", "/echo")).status == 200
    await asyncio.sleep(0.5)
    assert (await client.send("GET", "/echo")).status == 200
    assert len(set(stand_in.peers)) == 2


async def test_nothing_listening_fails_at_once_not_at_the_timeout(unused_tcp_port: int) -> None:
    client = Http1Client(f"http://127.0.0.1:{unused_tcp_port}", timeout_s=60)
    try:
        with pytest.raises(HttpTransportError, match="cannot connect") as failure:
            await client.send("GET", "/")
        assert not isinstance(failure.value, HttpTimeoutError)
        with pytest.raises(HttpTransportError, match="cannot connect"):
            await client.connect()
    finally:
        await client.close()


async def test_a_closed_client_refuses_new_requests(venue) -> None:
    _, base = venue
    client = Http1Client(base)
    await client.connect()
    pending = client.send("GET", "/slow")
    await client.close()
    with pytest.raises(HttpTransportError):
        await pending
    with pytest.raises(HttpTransportError, match="closed"):
        await client.send("GET", "/echo")


def test_bad_arguments_are_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="base_url"):
        Http1Client("ftp://127.0.0.1")
    with pytest.raises(ValueError, match="connections"):
        Http1Client("http://127.0.0.1", connections=0)


async def test_a_target_with_spaces_is_refused(venue, client_factory) -> None:
    _, base = venue
    client = await client_factory(base)
    with pytest.raises(ValueError, match="target"):
        client.send("GET", "/echo?a=b c")


# -- a raw server, for what aiohttp never sends ----------------------------------------------------


async def test_close_delimited_body_and_connection_close_header() -> None:
    served = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        await reader.readuntil(b"\r\n\r\n")
        served += 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = Http1Client(f"http://127.0.0.1:{port}", connections=1)
    try:
        for _ in range(2):
            response = await client.send("GET", "/")
            assert response.body == b"until the end"
        assert served == 2
    finally:
        await client.close()
        server.close()
        await server.wait_closed()


async def test_a_server_dropping_every_connection_does_not_make_the_pool_spin() -> None:
    accepted = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = Http1Client(f"http://127.0.0.1:{port}", connections=2)
    try:
        with contextlib.suppress(HttpTransportError):  # the drop may beat the connect
            await client.connect()
        await asyncio.sleep(0.5)
        # Two slots, each replaced at most every 0.1 s: never a connection storm.
        assert 2 <= accepted <= 2 * 7
        with pytest.raises(HttpTransportError):
            await client.send("GET", "/")
    finally:
        await client.close()
        server.close()
        await server.wait_closed()


# -- TLS -------------------------------------------------------------------------------------------


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


async def test_https_with_a_verified_certificate(tmp_path: Path) -> None:
    cert_file, key_file = _self_signed(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_file, key_file)
    stand_in = Venue()
    runner, port = await serve(stand_in.app, ssl_context=server_context)
    trusting = ssl.create_default_context(cafile=str(cert_file))
    client = Http1Client(f"https://127.0.0.1:{port}", connections=1, ssl_context=trusting)
    untrusting = Http1Client(f"https://127.0.0.1:{port}", connections=1, timeout_s=5)
    try:
        response = await client.send("POST", "/echo", b"", b"over tls")
        assert response.body == b"over tls"
        assert (await client.send("GET", "/chunked")).body.startswith(b"first,second,")
        assert len(set(stand_in.peers)) == 1
        # The system's trust store does not know this certificate: no request goes out.
        with pytest.raises(HttpTransportError, match="cannot connect"):
            await untrusting.send("GET", "/echo")
    finally:
        await client.close()
        await untrusting.close()
        await runner.cleanup()


def test_under_uvloop_a_request_leaves_within_the_send_call() -> None:
    # uvloop holds a write back until the running callback returns, unless the transport's
    # high-water mark is exceeded; an amend sent mid-requote would wait for the whole requote.
    import socket
    import threading

    import uvloop

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    received = threading.Event()

    def venue() -> None:
        connection, _ = listener.accept()
        with connection:
            if connection.recv(4096).startswith(b"PUT /orders/1 HTTP/1.1\r\n"):
                received.set()
            connection.recv(4096)  # until the client closes

    thread = threading.Thread(target=venue, daemon=True)
    thread.start()

    async def requote() -> bool:
        client = Http1Client(f"http://127.0.0.1:{port}", connections=1, timeout_s=5)
        await client.connect()
        try:
            client.send("PUT", "/orders/1", b"", b'{"price":"1"}')
            # Still inside this callback: the loop has not run since the send.
            return received.wait(timeout=5)
        finally:
            await client.close()

    try:
        assert uvloop.run(requote())
    finally:
        listener.close()
        thread.join(timeout=5)
