"""The `ray` executor: each training is a Ray task on a cluster worker that streams its progress back.

The data goes to the cluster once through Ray's object store; the finished model bundle comes back the same way,
as file contents, and the server writes it into the run folder, so workers need no shared disk and the server
stays the only writer of the run store. Stop cancels the task; the run keeps the epochs it reached, and, when
at least one epoch ended, the model as it was after the last of them (its weights stream back with each epoch).
"""
from __future__ import annotations

import os
import queue
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import ray
import ray.exceptions

from core import bundle, features, models, training
from core.data import imdb
from core.data.datasets import Dataset, DatasetInfo
from core.errors import LabError
from core.execution.base import Job
from core.hparams import HParams, from_dict
from core.training import Hooks, Result
from core.data.vocab import Vocabulary

CORE_DIR = Path(__file__).resolve().parents[1]
BATCH_REPORTS_PER_SECOND = 4
CONNECT_TIMEOUT = 5  # seconds
AUTH_MODE_ENV = "RAY_AUTH_MODE"
_CONNECTING = threading.Lock()  # runs start on several threads; one of them joins the cluster


class ClusterError(LabError):
    """The Ray cluster cannot be reached, or lost the worker that was training."""


def _check_reachable(address: str) -> None:
    """Fail at once for a head that does not answer: Ray itself keeps retrying for minutes."""
    host, _, port = address.rpartition(":")
    if address.startswith("ray://") or not host or not port.isdigit():
        return  # `auto` or a Ray Client address: Ray reports those itself
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise ClusterError(f"Cannot start training on the Ray cluster at {address}: nothing answers there "
                           f"({exc.strerror or exc}). Check RAY_ADDRESS and that `ray start --head` runs there.") from exc


def _connect() -> None:
    """Join RAY_ADDRESS, or start a local Ray when it is unset, once per process; token authentication stays on.

    Ray is started on a thread of its own that lives as long as the process: Ray's processes are set to die with
    the thread that started them (Linux's parent-death signal follows the thread, not the process), so a local
    Ray started on a run's thread died when that first training ended.
    """
    with _CONNECTING:
        if ray.is_initialized():
            return
        started = threading.Event()
        failure: list[BaseException] = []

        def keep() -> None:
            try:
                _init()
            except BaseException as exc:  # noqa: BLE001 - handed to the run that asked
                failure.append(exc)
                started.set()
                return
            started.set()
            threading.Event().wait()  # never returns: Ray lives until the process ends

        threading.Thread(target=keep, name="ray-driver", daemon=True).start()
        started.wait()
        if failure:
            raise failure[0]


def _token_auth() -> None:
    """RAY_AUTH_MODE=token unless set otherwise. Ray reads the setting when it is imported, so its copy is read
    again (as Ray itself does when it turns token authentication on); otherwise a local Ray's GCS would want a token
    that this process never sends."""
    if os.environ.get(AUTH_MODE_ENV) is None:
        os.environ[AUTH_MODE_ENV] = "token"
    from ray._raylet import Config

    Config.initialize("")


def _init() -> None:
    _token_auth()
    address = os.environ.get("RAY_ADDRESS", "").strip() or None
    if address:
        _check_reachable(address)
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 runtime_env={"py_modules": [str(CORE_DIR)], "env_vars": {"TF_CPP_MIN_LOG_LEVEL": "2"}})
    except Exception as exc:  # noqa: BLE001 - every way of not reaching the cluster is one message
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise ClusterError(f"Cannot start training on {where}: {type(exc).__name__}: {exc}. Check RAY_ADDRESS, "
                           "that `ray start --head` runs there, and the auth token (RAY_AUTH_TOKEN).") from exc


def _limit_threads(cpus: int) -> None:
    """TensorFlow uses as many threads as the task has CPUs, not as many as the machine has."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(cpus)
    tf.config.threading.set_inter_op_parallelism_threads(cpus)


def _bundle_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def _train_on_worker(hp_values: dict[str, Any], probes: tuple[str, ...], info: DatasetInfo, corpus: imdb.Corpus,
                     vocabulary: Vocabulary, cpus: int, nice: int) -> Iterator[tuple]:
    """The Ray task: trains on a thread of the worker and yields what happens, ending with the bundle's files.

    Items: ("phase", name, batches), ("batch", n), ("featurizer", state, arrays),
    ("epoch", metrics, scores, weights), then ("result", fields, files) or ("error", message).
    """
    yield ("phase", "preparing", 0)  # the task has a worker: no longer waiting
    _limit_threads(cpus)
    hp = from_dict(hp_values, info)  # the worker has the data set, not the server's store of data sets
    dataset = Dataset(info, corpus, vocabulary)
    events: queue.Queue[tuple] = queue.Queue()
    stop = threading.Event()
    model_box: list = []

    def model_ready(model, featurizer) -> None:
        model_box.append(model)
        events.put(("featurizer", featurizer.state(), featurizer.arrays()))

    hooks = Hooks(
        phase=lambda name, batches: events.put(("phase", name, batches)),
        batch=lambda n: events.put(("batch", n)),
        epoch=lambda metrics, scores: events.put(("epoch", metrics, scores, model_box[0].get_weights())),
        should_stop=stop.is_set,
        model_ready=model_ready,
    )

    def work(folder: Path) -> None:
        try:
            result = training.train(hp, dataset, probes, folder, hooks, nice)
            files = _bundle_files(folder) if result.out_dir is not None else {}
            fields = {k: getattr(result, k) for k in ("stopped", "train_seconds", "test_accuracy", "test_loss")}
            events.put(("result", fields, files))
        except Exception as exc:  # noqa: BLE001 - sent back as the run's error
            message = str(exc) if isinstance(exc, LabError) else f"{type(exc).__name__}: {exc}"
            events.put(("error", message))

    with tempfile.TemporaryDirectory(prefix="sentiment-lab-", ignore_cleanup_errors=True) as tmp:
        threading.Thread(target=work, args=(Path(tmp) / "run",), daemon=True).start()
        try:
            last_batch, batch_sent = None, 0.0
            while True:
                try:
                    item = events.get(timeout=1 / BATCH_REPORTS_PER_SECOND)
                except queue.Empty:
                    item = None
                if item is not None and item[0] == "batch":
                    last_batch = item
                    if time.monotonic() - batch_sent < 1 / BATCH_REPORTS_PER_SECOND:
                        continue
                    item = None
                if last_batch is not None and (item is None or item[0] != "epoch"):
                    yield last_batch
                    last_batch, batch_sent = None, time.monotonic()
                if item is None:
                    continue
                yield item
                if item[0] in ("result", "error"):
                    return
        finally:
            stop.set()  # cancelled: let the training thread end before the folder goes


def _write_bundle(folder: Path, files: dict[str, bytes]) -> None:
    """The model file last, so its presence still means the bundle is complete."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in sorted(files, key=lambda n: n == bundle.MODEL):
        bundle.write_file(folder / name, files[name])


class RayExecutor:
    """Sends each training to the cluster as a task taking `num_cpus`; Ray decides when it runs."""

    schedules_itself = True

    def __init__(self, num_cpus: int = 1) -> None:
        self.num_cpus = num_cpus
        self._lock = threading.Lock()
        self._shared: tuple[imdb.Corpus, Vocabulary, ray.ObjectRef, ray.ObjectRef] | None = None
        self._task = ray.remote(num_returns="streaming", max_calls=1, max_retries=0)(_train_on_worker)

    def share(self, corpus: imdb.Corpus, vocabulary: Vocabulary) -> tuple[ray.ObjectRef, ray.ObjectRef]:
        """The corpus and vocabulary in the object store, put there once (again only if they change)."""
        with self._lock:
            if self._shared is None or self._shared[0] is not corpus or self._shared[1] is not vocabulary:
                self._shared = (corpus, vocabulary, ray.put(corpus), ray.put(vocabulary))
            return self._shared[2], self._shared[3]

    def train(self, job: Job, hooks: Hooks) -> Result:
        _connect()
        corpus_ref, vocabulary_ref = self.share(job.dataset.corpus, job.dataset.vocabulary)
        stream = self._task.options(num_cpus=self.num_cpus).remote(
            job.hp.to_dict(), job.probes, job.dataset.info, corpus_ref, vocabulary_ref, self.num_cpus, job.nice)
        hooks.phase("waiting", 0)
        result = Result()
        featurizer: tuple[dict, dict] | None = None
        weights: list | None = None
        cancelled = False
        try:
            while True:
                if hooks.should_stop() and not cancelled:
                    ray.cancel(stream)
                    cancelled = True
                ready, _ = ray.wait([stream], timeout=0.2)
                if not ready:
                    continue
                item = ray.get(next(stream))
                kind = item[0]
                if kind == "phase":
                    hooks.phase(item[1], item[2])
                elif kind == "batch":
                    hooks.batch(item[1])
                elif kind == "featurizer":
                    featurizer = (item[1], item[2])
                elif kind == "epoch":
                    _, metrics, scores, weights = item
                    result.history.append(metrics)
                    result.probe_scores.append(scores)
                    hooks.epoch(metrics, scores)
                elif kind == "error":
                    raise LabError(item[1])
                elif kind == "result":
                    fields, files = item[1], item[2]
                    for key, value in fields.items():
                        setattr(result, key, value)
                    if files:
                        _write_bundle(job.out_dir, files)
                        result.out_dir = job.out_dir
                    return result
        except (StopIteration, ray.exceptions.RayError) as exc:
            if not cancelled:
                raise ClusterError(f"The Ray worker training this run died, or the cluster was lost "
                                   f"({type(exc).__name__}); the epochs it finished are kept.") from None
        except BaseException:
            ray.cancel(stream)  # the server gave up on this run (a store write failed...): free the worker
            raise
        result.stopped = True
        if result.history and featurizer is not None and weights is not None:
            self._keep_stopped_model(job, hooks, result, featurizer, weights)
        return result

    @staticmethod
    def _keep_stopped_model(job: Job, hooks: Hooks, result: Result, featurizer_state: tuple[dict, dict],
                            weights: list) -> None:
        """Rebuild the model at its last finished epoch from the streamed weights, then test and save it here."""
        import keras

        hp: HParams = job.hp
        featurizer = features.from_state(*featurizer_state)
        keras.utils.set_random_seed(hp.seed)
        model = models.build(hp, featurizer, job.dataset.info.num_classes)  # not compiled: it scores, no more training
        model.set_weights(weights)
        result.test_accuracy, result.test_loss = training.evaluate_and_save(
            model, featurizer, hp, job.dataset, job.dataset.corpus.test, result.history, job.out_dir, hooks)
        result.out_dir = job.out_dir
