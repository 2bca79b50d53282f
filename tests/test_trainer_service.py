"""The trainer service that `python -m core serve` shares between its web processes, on real (tiny) runs: the
client answers as the local Runner does (runs, queue, estimates), refusals cross the socket as the same errors,
and a bad request is answered without ending the service."""
from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from core import hparams
from core.serving import trainer_service, trainer_wire
from core.errors import ConfigError, LabError
from core.classroom.people import PermissionDenied
from core.run_record import RunRecord
from core.runner import QueueFull, Runner
from core.serving.trainer_client import RunnerClient
from core.serving.trainer_wire import TrainerUnavailable
from conftest import short_test_split
from gate import GateExecutor
from test_classroom import ADA, BO, LONG, TEACHER, TINY
from test_runner import _wait_for


def _client(run_store, executor: GateExecutor | None = None):
    folder = Path(tempfile.mkdtemp(prefix="trainer-", dir="/tmp"))  # a short path: sockets allow about 100 bytes
    runner = Runner(run_store, max_concurrent=1, dataset=short_test_split(), executor=executor)
    server = trainer_service.serve(folder / "trainer.sock", runner)
    yield RunnerClient(run_store, folder / "trainer.sock")
    server.shutdown()
    server.server_close()


@pytest.fixture()
def client(run_store):
    yield from _client(run_store)


@pytest.fixture()
def gated_client(run_store):
    """A service whose first run holds the trainer until it is stopped (gate.py); later runs train."""
    yield from _client(run_store, GateExecutor())


def test_a_run_submitted_through_the_service_trains_and_is_recorded(client, run_store):
    run = client.submit(hparams.make("dlwp", **TINY), owner=ADA, probes=("a fine film",))
    assert run.owner == ADA.token and run.owner_name == "Ada"
    snap = run.wait(timeout=600)
    assert snap.status == "finished", snap.error
    assert len(snap.history) == 1 and len(snap.live.probe_scores) == 1 and snap.test_accuracy > 0.4
    record = run_store.get(run.id)
    assert (record.status, record.owner_name, record.test_accuracy) == ("finished", "Ada", snap.test_accuracy)
    assert [r.id for r in client.runs(ADA.token)] == [run.id] and client.runs(BO.token) == []
    state = client._call("state", final=[run.id])  # an ended run is not sent again to a process that holds it
    assert run.id in state["ids"] and run.id not in [s["id"] for s in state["runs"]]
    assert client.get(run.id).snapshot() == snap


def test_the_queue_and_its_rules_work_across_the_socket(gated_client, monkeypatch):
    client = gated_client
    monkeypatch.delenv("SENTIMENT_LAB_MAX_QUEUED_PER_USER", raising=False)
    holder = client.submit(hparams.make("dlwp", **LONG), owner=ADA, probes=())
    _wait_for(lambda: holder.snapshot().status == "running", 120, "the first run to start", poll=0.2)
    waiting = client.submit(hparams.make("dlwp", **TINY), owner=BO, probes=())
    with pytest.raises(QueueFull, match="1 run waiting"):
        client.submit(hparams.make("dlwp", **TINY), owner=BO, probes=())
    assert [r.id for r in client.queued()] == [waiting.id] and waiting.snapshot().live.queue_position == 1
    info = client.queue_info(waiting)
    assert (info.position, info.ahead, info.students) == (1, 1, 1) and info.wait_seconds > 0
    assert client.queue_info(holder) is None  # training, not waiting

    with pytest.raises(PermissionDenied, match="belongs to Ada"):
        holder.stop(BO)
    with pytest.raises(PermissionDenied, match="Only the teacher"):
        client.move_to_front(waiting.id, BO)
    client.move_to_front(waiting.id, TEACHER)
    waiting.stop(BO)  # its owner cancels it
    assert waiting.wait(timeout=30).status == "stopped"
    holder.stop(TEACHER)
    assert holder.wait(timeout=300).status == "stopped"


def _raw(path: Path, line: bytes) -> dict:
    """What the service answers to one request line, sent as a program other than the lab's client might send it."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(str(path))
        sock.sendall(line)
        sock.shutdown(socket.SHUT_WR)
        return json.loads(sock.makefile("rb").readline())


ACTOR = {"token": "t", "name": "Ada"}
SUBMIT = b'{"op": "submit", "actor": {"token": "t", "name": "Ada"}, "probes": []'
MALFORMED = [  # a request line, and what the answer must say was wrong
    (b"{not json\n", "The request is not valid JSON"),
    (b'{"op": "state"}', "one line of JSON"),
    (b"[1, 2]\n", "must be a JSON object, not list"),
    (b'{"id": 1}\n', "must name its kind as text in `op`"),
    (b'{"op": "explode"}\n', "Unknown trainer request 'explode': one of state, submit"),
    (b'{"op": "state", "final": "1,2"}\n', "`final` must be a list of run ids, not str"),
    (b'{"op": "state", "final": [1, null]}\n', "`final` must hold only run ids"),
    (b'{"op": "stop"}\n', "The request lacks `id`"),
    (b'{"op": "queue_info", "id": "7"}\n', "`id` must be a run id, a whole number, not str"),
    (b'{"op": "queue_info", "id": true}\n', "`id` must be a run id, a whole number, not bool"),
    (b'{"op": "queue_info", "id": -3}\n', "`id` must be a run id from 1, not -3"),
    (b'{"op": "move_to_front", "id": 1}\n', "The request lacks `actor`"),
    (b'{"op": "move_to_front", "id": 1, "actor": "teacher"}\n',
     "`actor` must be the person asking, an object, not str"),
    (b'{"op": "move_to_front", "id": 1, "actor": {"name": "Ada"}}\n', "The request lacks `actor.token`"),
    (b'{"op": "move_to_front", "id": 1, "actor": {"token": 5, "name": "Ada"}}\n', "`actor.token` must be"),
    (b'{"op": "move_to_front", "id": 1, "actor": {"token": "t", "name": "Ada", "is_teacher": "yes"}}\n',
     "`actor.is_teacher` must be true or false, not str"),
    (SUBMIT + b'}\n', "The request lacks `hp`"),
    (SUBMIT + b', "hp": []}\n', "`hp` must be the run's settings"),
    (SUBMIT + b', "hp": {}}\n', "`hp` lacks preset, architecture"),
]


def test_a_malformed_request_is_answered_with_what_was_wrong(client):
    wrong = [(line, answer) for line, says in MALFORMED
             if says not in (answer := _raw(client.path, line)).get("error", {}).get("message", "")
             or answer["error"]["kind"] != "BadRequest"]
    assert not wrong, wrong
    assert client.runs() is not None  # still answering


def test_a_submit_with_bad_parts_names_the_part(client):
    hp = hparams.make("dlwp", **TINY).to_dict()
    for request, says in [
        ({"hp": {**hp, "epochs": "many"}, "actor": ACTOR, "probes": []}, "epochs='many' is not a whole number"),
        ({"hp": hp, "actor": ACTOR, "probes": ["fine", 3]}, "`probes` must hold only pinned reviews"),
        ({"hp": hp, "actor": ACTOR, "probes": "fine"}, "`probes` must be a list of pinned reviews, not str"),
        ({"hp": hp, "actor": ACTOR, "probes": [], "assignment": 12}, "`assignment` must be an assignment id"),
    ]:
        answer = _raw(client.path, json.dumps({"op": "submit", **request}).encode() + b"\n")
        assert says in answer["error"]["message"], answer
    assert client.runs() == [], "nothing was queued"


def test_bad_requests_are_answered_and_the_service_keeps_serving(client):
    with pytest.raises(LabError, match="Unknown trainer request 'explode'"):
        client._call("explode")
    with pytest.raises(LabError, match="not known to the trainer"):
        client._call("queue_info", id=10**9)
    assert client.runs() is not None  # still answering


def test_a_second_service_cannot_take_over_a_running_ones_socket(client, run_store):
    with pytest.raises(ConfigError, match="Another lab is already serving from this lab home"):
        trainer_service.serve(client.path, Runner(run_store))
    assert client.runs() is not None, "the first one still answers"


def test_a_missing_service_is_a_clear_error(run_store, tmp_path):
    with pytest.raises(TrainerUnavailable, match="trainer service is not answering"):
        RunnerClient(run_store, tmp_path / "absent.sock").runs()


def test_snapshots_and_errors_survive_the_wire(client):
    run = client.submit(hparams.make("dlwp", **TINY), owner=BO, probes=("good",))
    snap = run.wait(timeout=600)
    local = RunRecord.from_dict(json.loads(json.dumps(snap.to_dict())))
    assert local == snap
    error = trainer_wire.error_from_dict(trainer_wire.error_to_dict(QueueFull("full")))
    assert isinstance(error, QueueFull) and str(error) == "full"


@pytest.mark.serve
def test_stopping_the_service_keeps_the_training_so_far(cli_env, run_store):
    """Ctrl+C or SIGTERM on the class server: the training in progress ends as a stopped run with its epochs."""
    folder = Path(tempfile.mkdtemp(prefix="trainer-", dir="/tmp"))
    service = subprocess.Popen([sys.executable, "-m", "core", "trainer", "--socket", str(folder / "t.sock")],
                               env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(lambda: (folder / "t.sock").exists(), 60, "the service to listen", poll=0.2)
        client = RunnerClient(run_store, folder / "t.sock")
        run = client.submit(hparams.make("dlwp", **LONG), owner=ADA, probes=())
        _wait_for(lambda: run.snapshot().live.epoch >= 1, 300, "a first epoch", poll=0.5)
        service.send_signal(signal.SIGTERM)
        assert service.wait(timeout=120) == 0, service.stdout.read()
    finally:
        service.kill()
    record = run_store.get(run.id)
    assert record.status == "stopped" and len(record.history) >= 1 and record.model_dir
    assert not (folder / "t.sock").exists()


def test_serve_refuses_bad_settings_with_one_line(cli_env):
    result = subprocess.run([sys.executable, "-m", "core", "serve", "--web-processes", "0"], env=cli_env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr == "error: --web-processes must be 1 to 16 (about one per CPU core).\n"


def test_serve_refuses_a_lab_home_too_long_for_its_socket(cli_env, tmp_path):
    home = tmp_path / ("h" * 120)
    result = subprocess.run([sys.executable, "-m", "core", "serve"], env=dict(cli_env, SENTIMENT_LAB_HOME=str(home)),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "too long for the trainer's socket" in result.stderr
    assert result.stderr.count("\n") == 1
