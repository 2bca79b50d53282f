"""A browser session without a browser: Streamlit's own protocol over its WebSocket, for messages a page never
sends by itself (the tests and benchmarks/class_faults.py send `clear_cache`, as any visitor could)."""
from __future__ import annotations

import asyncio

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg


def _url(port: int) -> str:
    return f"ws://127.0.0.1:{port}/_stcore/stream"


async def _view(port: int, timeout: float) -> bool:
    async with websockets.connect(_url(port), subprotocols=["streamlit"], max_size=None) as ws:
        message = BackMsg()
        message.rerun_script.query_string = ""
        await ws.send(message.SerializeToString())
        while True:
            answer = ForwardMsg()
            answer.ParseFromString(await asyncio.wait_for(ws.recv(), timeout))
            if answer.WhichOneof("type") == "script_finished":
                return True


def view(port: int, timeout: float = 90) -> bool:
    """Open the app's first page in a new session and wait until its script has run."""
    return asyncio.run(_view(port, timeout))


async def _clear_cache(port: int) -> None:
    async with websockets.connect(_url(port), subprotocols=["streamlit"], max_size=None) as ws:
        message = BackMsg()
        message.clear_cache = True
        await ws.send(message.SerializeToString())
        await asyncio.sleep(1.0)


def clear_cache(port: int) -> None:
    """What the "Clear cache" menu item sends: the protocol lets any session send it."""
    asyncio.run(_clear_cache(port))
