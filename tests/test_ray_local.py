"""The Ray "try it" path as a user takes it: `SENTIMENT_LAB_EXECUTOR=ray` with no RAY_* setting at all, so the lab
starts a local Ray itself (its own start path, never a `ray.init` of the test's), from the CLI and from `serve`,
where the local Ray must outlive the first training and serve the next one."""
from __future__ import annotations

import os
import time

import pytest

pytest.importorskip("ray", reason="the Ray tests need requirements-cluster.txt installed")

from core import hparams  # noqa: E402
from core.store import RunStore  # noqa: E402
from core.serving.trainer_client import RunnerClient  # noqa: E402
from e2e_server import serving  # noqa: E402
from test_classroom import ADA  # noqa: E402
from test_cli import core_cli, json_lines  # noqa: E402

pytestmark = pytest.mark.ray
SMALL = dict(limit=1000, val_size=200, epochs=1)
TIMEOUT = 600  # seconds: starting Ray, then a worker that starts TensorFlow, on a shared machine
IDLE_GAP_S = 10  # between the two trainings of `serve`: the first run's thread has ended (Ray's processes die at
# once with the thread that started them) and its worker has exited after its one task


def _without_ray_settings(env: dict[str, str]) -> dict[str, str]:
    """The environment a new user has: no RAY_* at all (an earlier in-process Ray may have set RAY_AUTH_MODE)."""
    return {k: v for k, v in env.items() if not k.startswith("RAY_")}


def test_the_cli_starts_a_local_ray_itself_with_no_ray_settings(cli_env, tmp_path):
    env = dict(_without_ray_settings(cli_env), SENTIMENT_LAB_EXECUTOR="ray", SENTIMENT_LAB_HOME=str(tmp_path / "lab"))
    proc = core_cli("train", "--preset", "dlwp", *(f"--{k.replace('_', '-')}={v}" for k, v in SMALL.items()),
                    env=env, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Failed to start GCS" not in proc.stderr and "AuthenticationError" not in proc.stderr
    result = json_lines(proc.stdout)[-1]
    assert result["status"] == "finished" and result["epochs"] == 1, result
    assert result["phase_seconds"].get("waiting") is not None, "it trained as a Ray task"
    assert RunStore(tmp_path / "lab").get(result["run_id"]).status == "finished"


def test_serve_keeps_its_local_ray_for_the_next_training(tmp_path_factory, monkeypatch):
    """Before: the local Ray was started on the first run's thread and died when it ended; about 70 s later the
    trainer exited 1 and `serve` stopped the whole lab."""
    for name in [k for k in os.environ if k.startswith("RAY_")]:
        monkeypatch.delenv(name)
    with serving(tmp_path_factory, "serve-ray", env={"SENTIMENT_LAB_EXECUTOR": "ray"}, web_processes=1) as lab:
        client = RunnerClient(RunStore(lab.lab_home), lab.lab_home / "trainer.sock")
        first = client.submit(hparams.make("dlwp", **SMALL), owner=ADA, probes=("a fine film",)).wait(TIMEOUT)
        assert first.status == "finished", (first.error, lab.log())
        time.sleep(IDLE_GAP_S)  # the first run's thread has ended, and its worker exited after its one task
        assert lab.proc.poll() is None, f"the lab stopped after the first training:\n{lab.log()}"
        second = client.submit(hparams.make("dlwp", **SMALL), owner=ADA, probes=()).wait(TIMEOUT)
        assert second.status == "finished", (second.error, lab.log())
        assert "waiting" in second.live.phase_seconds, "it trained as a Ray task"
        assert lab.proc.poll() is None, f"the lab stopped:\n{lab.log()}"
        assert "Failed to start GCS" not in lab.log(8000)
        records = {r.id: r.status for r in RunStore(lab.lab_home).list()}
        assert records == {first.id: "finished", second.id: "finished"}
