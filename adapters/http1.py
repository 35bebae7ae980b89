"""
A lean HTTP/1.1 keep-alive client for the latency-critical requests of a venue adapter (orders).

`send` writes the whole request (one pre-built byte string) to an idle kept-alive connection in
the caller's own loop iteration and returns a future of the response: nothing waits for another
task, thread or loop pass before the bytes reach the socket. That is where general clients lose
time inside a busy node (aiohttp's request machinery, nautilus' Rust client handing the request to
its own runtime); see `benchmarks/gate_tick_to_order.py`.

Only what an order path needs: a small pool of persistent connections (opened ahead by `connect`,
replaced when the server drops one or when one idles too long), Content-Length, chunked and
read-to-close bodies, a timeout per request, plain TCP for http and TLS for https. No redirects,
cookies, compression, proxies or retries: a request that got no complete answer fails with
`HttpTransportError` and the caller decides, because a write may have taken effect.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import urlsplit

_MAX_HEAD_BYTES = 64 * 1024
_REFILL_DELAY_S = 0.1


class HttpResponse(NamedTuple):
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes


class HttpTransportError(Exception):
    """No complete response (connection refused or dropped, malformed reply, timeout)."""


class HttpTimeoutError(HttpTransportError):
    """No complete response within the request's timeout."""


def header_block(headers: Mapping[str, str]) -> bytes:
    """`Name: value\\r\\n` lines for `Http1Client.send`; CR or LF in a header is refused."""
    lines = []
    for name, value in headers.items():
        if not name or any(c in name for c in "\r\n:") or any(c in value for c in "\r\n"):
            raise ValueError(f"header {name!r}: names and values may not contain CR or LF")
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines).encode("latin-1")


# Parser states.
_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _TRAILERS, _UNTIL_EOF, _DONE = range(7)


class ResponseParser:
    """
    Incremental parser of one HTTP/1.x response: `feed` bytes as they arrive until it returns the
    response, then read `keep_alive` to know whether the connection can carry another request.
    """

    def __init__(self, head_request: bool = False) -> None:
        self._head_request = head_request
        self._buffer = bytearray()
        self._state = _HEAD
        self._status = 0
        self._headers: dict[str, str] = {}
        self._remaining = 0
        self._body = bytearray()
        self.keep_alive = True

    def feed(self, data: bytes) -> HttpResponse | None:
        if self._state == _DONE:
            raise HttpTransportError("bytes after the end of the response")
        self._buffer += data
        return self._advance()

    def feed_eof(self) -> HttpResponse:
        """The server closed the connection: complete for a read-to-close body, else an error."""
        if self._state != _UNTIL_EOF:
            raise HttpTransportError("connection closed before the response was complete")
        self._body += self._buffer
        self._buffer.clear()
        return self._finish()

    def _advance(self) -> HttpResponse | None:
        buffer = self._buffer
        while True:
            state = self._state
            if state == _HEAD:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(buffer) > _MAX_HEAD_BYTES:
                        raise HttpTransportError("response head larger than 64 KiB")
                    return None
                head = bytes(buffer[:end])
                del buffer[: end + 4]
                if self._on_head(head):
                    return self._finish()
            elif state == _LENGTH:
                if len(buffer) < self._remaining:
                    return None
                self._body = buffer[: self._remaining]
                del buffer[: self._remaining]
                return self._finish()
            elif state == _CHUNK_SIZE:
                end = buffer.find(b"\r\n")
                if end < 0:
                    return None
                size_text = bytes(buffer[:end]).split(b";", 1)[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    raise HttpTransportError(f"bad chunk size {size_text[:20]!r}") from None
                del buffer[: end + 2]
                self._remaining = size
                self._state = _CHUNK_DATA if size else _TRAILERS
            elif state == _CHUNK_DATA:
                size = self._remaining
                if len(buffer) < size + 2:
                    return None
                if buffer[size : size + 2] != b"\r\n":
                    raise HttpTransportError("chunk not followed by CRLF")
                self._body += buffer[:size]
                del buffer[: size + 2]
                self._state = _CHUNK_SIZE
            elif state == _TRAILERS:
                end = buffer.find(b"\r\n")
                if end < 0:
                    return None
                del buffer[: end + 2]
                if end == 0:
                    return self._finish()
            else:  # _UNTIL_EOF
                self._body += buffer
                buffer.clear()
                return None

    def _on_head(self, head: bytes) -> bool:
        """Read the status line and headers; True when the response has no body to wait for."""
        lines = head.decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise HttpTransportError(f"bad status line {lines[0][:80]!r}")
        status = int(code)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon:
                raise HttpTransportError(f"bad header line {line[:80]!r}")
            headers[name.strip().lower()] = value.strip()
        if 100 <= status < 200:
            if status == 101:
                raise HttpTransportError("the server switched protocols")
            return False  # an interim response (100 Continue): the real one follows
        self._status = status
        self._headers = headers
        connection = headers.get("connection", "").lower()
        if version == "HTTP/1.0":
            self.keep_alive = "keep-alive" in connection
        else:
            self.keep_alive = "close" not in connection
        if self._head_request or status in (204, 304):
            return True
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._state = _CHUNK_SIZE
            return False
        length = headers.get("content-length")
        if length is None:
            self._state = _UNTIL_EOF  # the body ends when the server closes the connection
            self.keep_alive = False
            return False
        if not length.isdigit():
            raise HttpTransportError(f"bad Content-Length {length[:20]!r}")
        self._remaining = int(length)
        self._state = _LENGTH
        return self._remaining == 0

    def _finish(self) -> HttpResponse:
        self._state = _DONE
        if self._buffer:
            self.keep_alive = False  # the server said more than it was asked: do not reuse
        return HttpResponse(self._status, self._headers, bytes(self._body))


class _Request:
    __slots__ = ("connection", "data", "future", "head", "timer")

    def __init__(self, data: bytes, head: bool, future: asyncio.Future) -> None:
        self.data = data
        self.head = head
        self.future = future
        self.timer: asyncio.TimerHandle | None = None
        self.connection: _Connection | None = None

    def resolve(self, response: HttpResponse) -> None:
        self.timer.cancel()
        if not self.future.done():
            self.future.set_result(response)

    def fail(self, error: Exception) -> None:
        self.timer.cancel()
        if not self.future.done():
            self.future.set_exception(error)


class _Connection(asyncio.Protocol):
    """One kept-alive connection carrying one request at a time."""

    def __init__(self, client: Http1Client) -> None:
        self._client = client
        self.transport: asyncio.Transport | None = None
        self.request: _Request | None = None
        self._parser: ResponseParser | None = None
        self.idle_timer: asyncio.TimerHandle | None = None

    @property
    def usable(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def start(self, request: _Request) -> None:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None
        self.request = request
        self._parser = ResponseParser(request.head)
        request.connection = self
        self.transport.write(request.data)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        # uvloop holds a write back until the running callback returns unless the buffer is over
        # the high-water mark: with the mark at 0 a request leaves in the write() call, not after
        # the rest of the strategy's work in that callback (an amend waited for the next one).
        # With TLS this is the raw socket's transport, under the TLS layer.
        transport.set_write_buffer_limits(high=0)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None:
            self.abort()  # bytes nobody asked for: this connection can no longer be trusted
            return
        try:
            response = parser.feed(data)
        except HttpTransportError as error:
            self._fail(error)
            return
        if response is not None:
            self._complete(response, parser.keep_alive)

    def eof_received(self) -> bool:
        parser = self._parser
        if parser is not None:
            try:
                response = parser.feed_eof()
            except HttpTransportError as error:
                self._fail(error)
            else:
                self._complete(response, keep_alive=False)
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None
        request, self.request, self._parser = self.request, None, None
        if request is not None:
            reason = f": {exc}" if exc else ""
            request.fail(HttpTransportError(f"connection lost before the response{reason}"))
        self._client._lost(self)

    def _complete(self, response: HttpResponse, keep_alive: bool) -> None:
        request, self.request, self._parser = self.request, None, None
        request.resolve(response)
        if keep_alive:
            self._client._release(self)
        else:
            self.transport.close()

    def _fail(self, error: HttpTransportError) -> None:
        request, self.request, self._parser = self.request, None, None
        request.fail(error)
        self.abort()


class Http1Client:
    """
    Keep-alive HTTP/1.1 requests to one origin (`base_url`'s scheme, host and port).

    Parameters
    ----------
    base_url : str
        `http://host:port` or `https://host`; a path in it is ignored (targets are absolute).
    connections : int
        Connections kept open; requests beyond that wait for a free one, in order.
    timeout_s : float
        From `send` to the complete response, waiting for a connection included.
    idle_timeout_s : float
        A connection idle this long is replaced by a fresh one, before a server's keep-alive
        timeout can close it under a request.
    ssl_context : ssl.SSLContext, optional
        For https; the system's default verification when omitted.
    headers : Mapping[str, str], optional
        Sent with every request (after `Host`).
    """

    def __init__(
        self,
        base_url: str,
        *,
        connections: int = 4,
        timeout_s: float = 5.0,
        idle_timeout_s: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url {base_url!r}: expected http://host[:port] or https://host")
        if connections < 1:
            raise ValueError(f"connections must be at least 1, not {connections}")
        tls = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if tls else 80)
        self._tls = tls
        self._ssl = ssl_context  # the default one is made on first connect (loading CAs is slow)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        host = f"[{self._host}]" if ":" in self._host else self._host
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        self._prefix = b" HTTP/1.1\r\nHost: " + host.encode("idna") + b"\r\n"
        self._prefix += header_block(headers or {})
        self._size = connections
        self._timeout_s = timeout_s
        self._idle_timeout_s = idle_timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: list[_Connection] = []  # most recently used last: the warmest goes first
        self._open: set[_Connection] = set()
        self._opening: set[asyncio.Task] = set()
        self._queue: deque[_Request] = deque()
        self._warm = False
        self._closed = False

    @property
    def origin(self) -> str:
        return self._origin

    @property
    def open_connections(self) -> int:
        return len(self._open)

    async def connect(self) -> None:
        """Open the pool now (and keep it open), so the first requests find warm connections."""
        self._bind_loop()
        self._warm = True
        missing = self._size - len(self._open) - len(self._opening)
        errors = await asyncio.gather(*(self._open_one() for _ in range(missing)))
        failures = [error for error in errors if error is not None]
        if failures:
            raise HttpTransportError(f"cannot connect to {self._origin}: {failures[0]!r}")

    def send(
        self, method: str, target: str, headers: bytes = b"", body: bytes = b""
    ) -> asyncio.Future[HttpResponse]:
        """
        Send one request now (when a connection is idle) and return the response's future.

        `target` is the path and query as sent ("/api/v4/orders?x=1"); `headers` is a block of
        `Name: value\\r\\n` lines (see `header_block`); Content-Length is added here. The future
        fails with `HttpTransportError` (or `HttpTimeoutError`) when no complete response comes.
        """
        if " " in target or "\r" in target or "\n" in target:
            raise ValueError(f"request target {target!r} may not contain spaces, CR or LF")
        loop = self._bind_loop()
        if self._closed:
            closed = loop.create_future()
            closed.set_exception(HttpTransportError(f"{self._origin}: client closed"))
            return closed
        data = b"".join(
            (
                method.encode("ascii"),
                b" ",
                target.encode("ascii"),
                self._prefix,
                headers,
                b"Content-Length: %d\r\n\r\n" % len(body),
                body,
            )
        )
        request = _Request(data, method == "HEAD", loop.create_future())
        request.timer = loop.call_later(self._timeout_s, self._expire_request, request)
        connection = self._take_idle()
        if connection is not None:
            connection.start(request)
        else:
            self._queue.append(request)
            self._grow()
        return request.future

    async def close(self) -> None:
        self._closed = True
        for task in list(self._opening):
            task.cancel()
        error = HttpTransportError(f"{self._origin}: client closed")
        while self._queue:
            self._queue.popleft().fail(error)
        for connection in list(self._open):
            connection.transport.close()
        self._idle.clear()
        if self._opening or self._open:
            await asyncio.sleep(0)  # let the transports report their closing

    # -- pool ----------------------------------------------------------------------------------

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            raise RuntimeError(f"{self._origin}: Http1Client used from another event loop")
        return loop

    def _take_idle(self) -> _Connection | None:
        idle = self._idle
        while idle:
            connection = idle.pop()
            if connection.usable:
                return connection
        return None

    def _release(self, connection: _Connection) -> None:
        """A connection finished its request: give it the next queued one, or park it idle."""
        if self._closed:
            connection.transport.close()
            return
        queue = self._queue
        while queue:
            request = queue.popleft()
            if not request.future.done():  # skip requests timed out or cancelled meanwhile
                connection.start(request)
                return
        self._idle.append(connection)
        connection.idle_timer = self._loop.call_later(
            self._idle_timeout_s, self._retire, connection
        )

    def _retire(self, connection: _Connection) -> None:
        connection.idle_timer = None
        if connection in self._idle:
            self._idle.remove(connection)
            connection.transport.close()  # `_lost` opens its replacement

    def _lost(self, connection: _Connection) -> None:
        self._open.discard(connection)
        if connection in self._idle:
            self._idle.remove(connection)
        if self._queue:
            self._grow()  # requests are waiting: replace it now
        elif self._warm and not self._closed:
            # Refilled a little later: a server that drops every connection at once must not
            # make the pool reconnect in a tight loop.
            self._loop.call_later(_REFILL_DELAY_S, self._grow)

    def _grow(self) -> None:
        """Open connections for queued requests, and up to the pool size once warmed."""
        if self._closed:
            return
        free = self._size - len(self._open) - len(self._opening)
        wanted = free if self._warm else len(self._queue) - len(self._opening)
        for _ in range(min(free, wanted)):
            self._open_one()

    def _open_one(self) -> asyncio.Task[OSError | TimeoutError | None]:
        task = self._loop.create_task(self._open_connection())
        self._opening.add(task)
        task.add_done_callback(self._opening.discard)
        return task

    async def _open_connection(self) -> OSError | TimeoutError | None:
        """Open one connection and put it to work; the error when that failed (never raises)."""
        if self._tls and self._ssl is None:
            self._ssl = ssl.create_default_context()
        raw: asyncio.Transport | None = None
        try:
            async with asyncio.timeout(self._timeout_s):
                raw, connection = await self._loop.create_connection(
                    lambda: _Connection(self), self._host, self._port
                )
                if self._tls:
                    # TLS over our own TCP transport, so its write limits apply underneath.
                    connection.transport = await self._loop.start_tls(
                        raw, connection, self._ssl, server_hostname=self._host
                    )
        except (OSError, TimeoutError) as error:  # ssl.SSLError is an OSError
            if raw is not None:
                raw.abort()
            if not self._open and len(self._opening) <= 1:
                # Nothing to send on and nothing on its way: fail now, not at each timeout.
                failure = HttpTransportError(f"cannot connect to {self._origin}: {error!r}")
                while self._queue:
                    self._queue.popleft().fail(failure)
            return error
        if self._closed:
            connection.transport.close()
            return None
        if not connection.usable:
            return ConnectionResetError("closed by the server while connecting")
        self._open.add(connection)
        self._release(connection)
        return None

    def _expire_request(self, request: _Request) -> None:
        error = HttpTimeoutError(f"no response from {self._origin} within {self._timeout_s} s")
        connection = request.connection
        if connection is None:
            if request in self._queue:
                self._queue.remove(request)
        elif connection.request is request:
            connection.request = None
            connection.abort()  # a late answer would land on the next request: never reuse
        if not request.future.done():
            request.future.set_exception(error)
