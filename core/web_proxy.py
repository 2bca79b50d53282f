"""The class's one address in front of several web processes: a byte-level HTTP and WebSocket relay that keeps
each browser on one process.

A browser's session (its WebSocket, its uploads, its widget state) lives in the process that served it, so the
relay pins a browser with a cookie of its own (`lab_web=N`) set on the first answer it relays; requests without
it (a first visit, a client that keeps no cookies) take the processes in turn, and each connection, a WebSocket
included, stays with the process it was given. Nothing is parsed beyond the request and response heads.
"""
from __future__ import annotations

import asyncio
import itertools
import re
from typing import Sequence

COOKIE = "lab_web"
MAX_HEAD = 64 * 1024
_PINNED = re.compile(rb"(?im)^cookie:.*?\b" + COOKIE.encode() + rb"=(\d+)")


class Relay:
    """Accepts browsers and relays each connection to one of `ports` on localhost."""

    def __init__(self, ports: Sequence[int]) -> None:
        self.ports = list(ports)
        self._turns = itertools.cycle(range(len(self.ports)))

    def pick(self, head: bytes) -> tuple[int, bool]:
        """The process index for a request head, and whether the answer must pin the browser to it."""
        found = _PINNED.search(head)
        if found and int(found.group(1)) < len(self.ports):
            return int(found.group(1)), False
        return next(self._turns), True

    async def handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        backend_writer = None
        try:
            head = await client_reader.readuntil(b"\r\n\r\n")
            index, pin = self.pick(head)
            backend_reader, backend_writer = await asyncio.open_connection("127.0.0.1", self.ports[index])
            backend_writer.write(head)
            await asyncio.gather(_pipe(client_reader, backend_writer),
                                 _answers(backend_reader, client_writer, index if pin else None))
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, OSError):
            pass  # a browser or a process went away: the other side is closed below
        finally:
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
