"""A class server that one visitor, one hostile file or one dead process cannot take down or disorder (issue 21):
the relay's timeouts, connection bound and cookie parsing; students told apart by name, with the teacher's names
reserved; a training-time limit from the page, the core and the CLI; a `clear_cache` message that drops nothing;
one pending upload per session; the table reader's caps; and `serve` restarting a dead web process and taking its
children with it when killed. Memory figures are in benchmarks/class_faults.py, not here."""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from pathlib import Path

import pytest

from core import concurrency, config, estimate, hparams
from core.classroom import people, permissions
from core.serving import web_proxy
from core.errors import ConfigError, DatasetError
from core.classroom.people import Actor, PermissionDenied
from core.runner import QueueFull, Runner
from core.data.text_import import preview
from core.data.text_source import MAX_COLUMNS
from e2e_server import StreamlitServer, alive, child_pids, free_port
from gate import GateExecutor
from pagetest import open_page
from test_cli_faults import probe_cli, refused_before_tensorflow
from test_runner import _wait_for
from ws_session import clear_cache, view

TEACHER = Actor("teacher-browser", "Ms Teacher", is_teacher=True)
TINY = dict(limit=200, val_size=100, epochs=1)
LONG = dict(limit=4000, val_size=500, epochs=60, batch_size=16)  # holds the trainer until it is stopped
WEEKS = dict(epochs=100, maxlen=2500, units=512, embedding_dim=300)  # LSTM, about 5 days on a 2-core machine


# --- the relay ----------------------------------------------------------------------------------------------
async def _backend(port: int) -> asyncio.Server:
    """A stand-in web process: answers every request head with `ok`."""
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()
    return await asyncio.start_server(answer, "127.0.0.1", port)


async def _get(port: int, cookie: str = "") -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n" + (f"Cookie: {cookie}\r\n".encode() if cookie else b"") + b"\r\n")
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return answer


def _relay_case(case, ports_alive: int = 1, ports_dead: int = 0):
    async def run() -> None:
        live = [free_port() for _ in range(ports_alive)]
        dead = [free_port() for _ in range(ports_dead)]
        backends = [await _backend(p) for p in live]
        port = free_port()
        relay = await web_proxy.serve("127.0.0.1", port, dead + live)
        async with relay:
            await case(port)
            await asyncio.sleep(0.3)  # the relay's connections end before the loop does
        for b in backends:
            b.close()
    asyncio.run(run())


def test_a_head_that_never_arrives_is_closed(monkeypatch):
    monkeypatch.setattr(web_proxy, "HEAD_TIMEOUT_S", 0.5)

    async def case(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        started = time.monotonic()
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the relay
        assert time.monotonic() - started < 3
        assert b"200 OK" in await _get(port)  # others are still served
    _relay_case(case)


def test_one_address_holds_a_bounded_number_of_connections(monkeypatch):
    monkeypatch.setattr(web_proxy, "MAX_CONNECTIONS_PER_CLIENT", 3)

    async def case(port: int) -> None:
        idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
        await asyncio.sleep(0.2)
        assert (await _get(port)).startswith(b"HTTP/1.1 503")
        for _, writer in idle:
            writer.close()
        await asyncio.sleep(0.3)
        assert b"200 OK" in await _get(port)  # the bound frees as connections close
    _relay_case(case)


def test_a_cookie_of_5000_digits_is_ignored_without_a_traceback(caplog):
    async def case(port: int) -> None:
        answer = await _get(port, cookie=f"{web_proxy.COOKIE}={'9' * 5000}")
        assert b"200 OK" in answer and f"{web_proxy.COOKIE}=0".encode() in answer  # pinned afresh
    with caplog.at_level(logging.DEBUG, logger="asyncio"):
        _relay_case(case)
    assert "ValueError" not in caplog.text and "Exceeds the limit" not in caplog.text, caplog.text


def test_the_browsers_of_a_dead_process_go_to_a_live_one():
    async def case(port: int) -> None:
        answer = await _get(port, cookie=f"{web_proxy.COOKIE}=0")  # process 0 does not answer
        assert b"200 OK" in answer and f"{web_proxy.COOKIE}=1".encode() in answer
    _relay_case(case, ports_alive=1, ports_dead=1)


# --- telling students apart ---------------------------------------------------------------------------------
@pytest.mark.parametrize("typed", ["the teacher", "Teacher", "  THE   teacher ", "The-Teacher!", "ｔｅａｃｈｅｒ",
                                   "cli", "guest 1a2b"])
def test_names_of_the_teacher_and_of_guests_are_reserved(typed):
    with pytest.raises(ConfigError, match="kept for the lab"):
        people.display_name(typed)


def test_a_student_is_a_name_and_every_guest_shares_one_turn():
    assert people.queue_key("browser-1", "Ada") == people.queue_key("browser-2", " ADA") != people.queue_key(
        "browser-3", "Bo")
    guests = {people.queue_key(f"browser-{n}", people.guest_name(f"browser-{n}")) for n in range(12)}
    assert guests == {people.GUESTS}
    assert people.queue_key(None, "anything") is None and people.queue_key("cli", None) is None


def test_twelve_guest_browsers_are_not_twelve_students(run_store, monkeypatch):
    monkeypatch.delenv(config.MAX_QUEUED_PER_USER_ENV, raising=False)
    runner = Runner(run_store, max_concurrent=1, executor=GateExecutor())  # the teacher's run holds the trainer
    holder = runner.submit(hparams.make("dlwp", **LONG), owner=TEACHER, probes=())
    _wait_for(lambda: holder.snapshot().status == "running", 60, "the first run to start")
    tiny = hparams.make("dlwp", **TINY)
    try:
        first = runner.submit(tiny, owner=people.actor("guest-browser-0", None), probes=())
        for n in range(1, 12):
            with pytest.raises(QueueFull, match="pick your name"):
                runner.submit(tiny, owner=people.actor(f"guest-browser-{n}", None), probes=())
        ada = runner.submit(tiny, owner=Actor("ada-1", "Ada"), probes=())
        with pytest.raises(QueueFull, match="1 run waiting"):  # Ada in a second browser is still Ada
            runner.submit(tiny, owner=Actor("ada-2", " ada"), probes=())
        info = runner.queue_info(ada, [])
        assert (info.position, info.students) == (2, 2)  # behind the guests' one run and the teacher's training
        for run in (first, ada):
            run.stop(TEACHER)
    finally:
        holder.stop(TEACHER)
        holder.wait(timeout=300)


def test_the_teacher_can_require_a_name_before_training(run_store, monkeypatch):
    home = run_store.home
    permissions.save_class_settings(TEACHER, home, guests_train=False)
    try:
        with pytest.raises(PermissionDenied, match="pick a name"):
            Runner(run_store).submit(hparams.make("dlwp", **TINY), owner=people.actor("guest-x", None), probes=())
    finally:
        permissions.save_class_settings(TEACHER, home, guests_train=True)


# --- a training-time limit ----------------------------------------------------------------------------------
def test_a_training_of_weeks_is_refused_by_the_core(run_store, monkeypatch):
    monkeypatch.delenv(config.MAX_TRAINING_MINUTES_ENV, raising=False)
    hp = hparams.make("lstm", **WEEKS)
    with pytest.raises(ConfigError, match=f"days to train.*{config.MAX_TRAINING_MINUTES_ENV}"):
        estimate.refuse_too_long(hp)
    with pytest.raises(ConfigError, match=config.MAX_TRAINING_MINUTES_ENV):
        Runner(run_store).submit(hp, owner=Actor("ada", "Ada"), probes=())
    assert estimate.refuse_too_long(hparams.make("lstm")).longest < 120 * 60  # the presets stay allowed
    monkeypatch.setenv(config.MAX_TRAINING_MINUTES_ENV, "1")
    with pytest.raises(ConfigError, match="1 minutes"):
        estimate.refuse_too_long(hparams.make("lstm"))
    monkeypatch.setenv(config.MAX_TRAINING_MINUTES_ENV, "forever")
    with pytest.raises(ConfigError, match="whole number"):
        estimate.refuse_too_long(hparams.make("dlwp"))


def test_a_link_to_a_training_of_weeks_is_refused_on_the_train_page(monkeypatch):
    monkeypatch.delenv(config.MAX_TRAINING_MINUTES_ENV, raising=False)
    at = open_page("pages/train.py", preset="lstm", **{k: str(v) for k, v in WEEKS.items()})
    assert any(config.MAX_TRAINING_MINUTES_ENV in e.value for e in at.error), [e.value for e in at.error]
    assert not [b for b in at.button if b.label.startswith("Start")]


def test_the_cli_refuses_a_training_of_weeks_before_tensorflow(cli_env, tmp_path):
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in WEEKS.items()]
    proc = probe_cli("train", "--preset", "lstm", *flags, env=cli_env, SENTIMENT_LAB_HOME=str(tmp_path / "lab"))
    refused_before_tensorflow(proc, config.MAX_TRAINING_MINUTES_ENV, "days")


# --- clear_cache --------------------------------------------------------------------------------------------
def test_the_queue_and_the_store_are_held_outside_streamlits_caches():
    import streamlit as st
    from pages import ui

    runner, store = ui.runner(), ui.store()
    st.cache_resource.clear()
    st.cache_data.clear()
    assert ui.runner() is runner and ui.store() is store


def test_a_clear_cache_message_from_a_browser_drops_nothing(data_dir, tmp_path):
    server = StreamlitServer(data_dir, tmp_path / "lab", tmp_path / "server.log").start(timeout=90)
    try:
        assert view(server.port)
        clear_cache(server.port)
        assert view(server.port)
        log = server.log()
    finally:
        server.stop()
    assert "asked to clear the server's caches; ignored" in log
    assert log.count("Teacher key:") == 1, log  # the process-wide state was not made again


# --- uploads ------------------------------------------------------------------------------------------------
def test_a_session_holds_one_pending_upload():
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
    from streamlit.runtime.uploaded_file_manager import UploadedFileRec

    from pages import server_limits

    server_limits.apply()
    manager = MemoryUploadedFileManager("/upload")
    for n in range(8):
        manager.add_file("session-a", UploadedFileRec(f"file-{n}", "x.csv", "text/csv", b"x" * 1000))
    manager.add_file("session-b", UploadedFileRec("other", "y.csv", "text/csv", b"y" * 10))
    assert list(manager.file_storage["session-a"]) == ["file-7"]  # the newest replaced the others
    assert manager._total_bytes == 1010 and manager._file_count == 2
    manager.remove_session_files("session-a")
    assert manager._total_bytes == 10


# --- the table reader's caps --------------------------------------------------------------------------------
def test_a_file_of_too_many_columns_is_refused_at_its_first_row(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(MAX_COLUMNS + 1)) + "\n" + "a,1\n" * 10)
    with pytest.raises(DatasetError, match=f"{MAX_COLUMNS + 1:,} columns in its row 1"):
        preview(path)


def test_a_file_of_too_many_rows_is_refused(tmp_path, monkeypatch):
    from core.data import text_table

    monkeypatch.setattr(text_table, "MAX_TEXTS", 50)
    path = tmp_path / "long.csv"
    path.write_text("text,label\n" + "".join(f"row {n},{n % 2}\n" for n in range(100)))
    with pytest.raises(DatasetError, match="more than 50 rows"):
        preview(path)


# --- serve: a dead web process, a killed serve --------------------------------------------------------------
@pytest.mark.e2e
def test_serve_restarts_a_dead_web_process_and_its_children_die_with_it(data_dir, tmp_path):
    home = tmp_path / "lab"
    server = StreamlitServer(data_dir, home, tmp_path / "serve.log", web_processes=1).start(timeout=150)
    try:
        children = child_pids(server.proc.pid)
        web = [c for c in children if b"streamlit" in Path(f"/proc/{c}/cmdline").read_bytes()]
        assert len(children) == 2 and len(web) == 1
        (trainer,) = set(children) - set(web)
        variables = Path(f"/proc/{trainer}/environ").read_bytes().split(b"\0")
        environ = dict(v.split(b"=", 1) for v in variables if b"=" in v)
        cores = len(os.sched_getaffinity(0))
        shared = os.environ.get(concurrency.OP_THREADS_ENV) or str(concurrency.op_threads(2, cores))
        assert environ[concurrency.OP_THREADS_ENV.encode()] == shared.encode(), "its two trainings share the cores"
        os.kill(web[0], signal.SIGKILL)
        _wait_for(lambda: len([c for c in child_pids(server.proc.pid) if alive(c)]) == 2
                  and web[0] not in child_pids(server.proc.pid), 30, "a new web process")
        server.wait_healthy(120)
        assert server.proc.poll() is None and "starting it again" in server.log()
        now = child_pids(server.proc.pid)
        os.kill(server.proc.pid, signal.SIGKILL)
        _wait_for(lambda: not any(alive(c) for c in now), 30, "the children of the killed serve to end")
    finally:
        server.stop()
    again = StreamlitServer(data_dir, home, tmp_path / "again.log", web_processes=1).start(timeout=150)
    again.stop()  # the next serve on the same lab home starts: nothing was left on its socket
