"""The class's one address in front of several web processes: a byte-level HTTP and WebSocket relay that keeps
each browser on one process.

A browser's session (its WebSocket, its uploads, its widget state) lives in the process that served it, so the
relay pins a browser with a cookie of its own (`lab_web=N`) set on the first answer it relays; requests without
it (a first visit, a client that keeps no cookies) take the processes in turn, and each connection, a WebSocket
included, stays with the process it was given. A process that does not answer (it died and `serve` is starting it
again) is skipped and its browsers are pinned to the next live one. Nothing is parsed beyond the request and
response heads; a head must arrive within HEAD_TIMEOUT_S, and one client address holds at most
MAX_CONNECTIONS_PER_CLIENT connections at once, so idle or half-open connections cannot pile up.
"""
from __future__ import annotations

import asyncio
import itertools
import re
from collections import Counter
from typing import Sequence

COOKIE = "lab_web"
MAX_HEAD = 64 * 1024
HEAD_TIMEOUT_S = 5.0
# A class behind one school NAT shares an address: about 60 browsers of a few connections each.
MAX_CONNECTIONS_PER_CLIENT = 256
_PINNED = re.compile(rb"(?im)^cookie:.*?\b" + COOKIE.encode() + rb"=(\d{1,4})(?![\d])")
_BUSY_TEXT = b"Too many connections from this address; wait."
_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: close\r\n"
         b"Content-Length: %d\r\n\r\n%s" % (len(_BUSY_TEXT), _BUSY_TEXT))


class Relay:
    """Accepts browsers and relays each connection to one of `ports` on localhost."""

    def __init__(self, ports: Sequence[int]) -> None:
        self.ports = list(ports)
        self._turns = itertools.cycle(range(len(self.ports)))
        self._open: Counter[str] = Counter()  # client address -> connections open now

    def pick(self, head: bytes) -> tuple[int, bool]:
        """The process index for a request head, and whether the answer must pin the browser to it. A cookie that
        names no process (forged, stale, absurdly long) is ignored and the browser pinned afresh."""
        found = _PINNED.search(head)
        if found and int(found.group(1)) < len(self.ports):
            return int(found.group(1)), False
        return next(self._turns), True

    async def _connect(self, index: int) -> tuple[int, asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to process `index`, else to the next one that answers (its browsers are then re-pinned)."""
        for step in range(len(self.ports)):
            candidate = (index + step) % len(self.ports)
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.ports[candidate])
            except OSError:
                continue
            return candidate, reader, writer
        raise ConnectionRefusedError("no web process answers")

    async def handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        peer = client_writer.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
        backend_writer = None
        self._open[address] += 1
        try:
            head = await asyncio.wait_for(client_reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT_S)
            if self._open[address] > MAX_CONNECTIONS_PER_CLIENT:
                client_writer.write(_BUSY)
                await client_writer.drain()
                return
            wanted, pin = self.pick(head)
            index, backend_reader, backend_writer = await self._connect(wanted)
            backend_writer.write(head)
            await asyncio.gather(_pipe(client_reader, backend_writer),
                                 _answers(backend_reader, client_writer, index if pin or index != wanted else None))
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ConnectionError,
                OSError):
            pass  # a browser or a process went away, or a head never came: the other side is closed below
        finally:
            self._open[address] -= 1
            if not self._open[address]:
                del self._open[address]
            for writer in (client_writer, backend_writer):
                if writer is not None:
                    writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    finally:
        if writer.can_write_eof():
            try:
                writer.write_eof()
            except OSError:
                pass


async def _answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pin: int | None) -> None:
    """The process's answers to the browser; the first head gains the pinning cookie when the browser lacks it."""
    if pin is not None:
        head = await reader.readuntil(b"\r\n\r\n")
        cookie = f"Set-Cookie: {COOKIE}={pin}; Path=/; HttpOnly; SameSite=Lax\r\n".encode()
        writer.write(head[:-2] + cookie + b"\r\n")
    await _pipe(reader, writer)


async def serve(address: str, port: int, ports: Sequence[int]) -> asyncio.Server:
    relay = Relay(ports)
    return await asyncio.start_server(relay.handle, address or None, port, limit=MAX_HEAD)
