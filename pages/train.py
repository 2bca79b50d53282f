"""Train: pick a preset and its hyperparameters (shareable in the URL), then watch the model learn live."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import streamlit as st

from core import architectures, bundle, estimate, evaluation, hparams, memory, train_link
from core.data import datasets, imdb
from core.classroom import permissions
from core.classroom.assignments import Assignment
from core.classroom.people import Actor
from core.errors import ConfigError, LabError
from core.hparams import PARAMS, PRESETS, HParams
from core.run_record import RunRecord
from core.serving.trainer_client import AnyRun
from pages import assignment_form, charts, class_results, dataset_picker, layer_table, present, ui

LIVE_SECONDS = 2.0  # while a run trains, how often its progress and curves are drawn again


# --- settings ----------------------------------------------------------------------------------------------
def _key(name: str) -> str:
    return f"hp_{name}"


def _sizes() -> hparams.Sizes:
    """The chosen data set's sizes, which its ranges and fitted presets come from."""
    return hparams.sizes_of(st.session_state.get(dataset_picker.CHOICE, hparams.DEFAULT_DATASET))


def _fitted(name: str) -> HParams:
    """A preset fitted to the chosen data set (IMDB's presets as they are)."""
    return hparams.for_dataset(PRESETS[name], _sizes())


def _load_preset_values(name: str, base: HParams | None = None) -> None:
    base = base or _fitted(name)
    for param in PARAMS:
        st.session_state[_key(param)] = getattr(base, param)
    st.session_state._train_values_for = st.session_state.get(dataset_picker.CHOICE)


def _link(assignment: Assignment | None) -> str:
    """Which link the settings come from: an assignment's id, or "" for a plain Train link."""
    return assignment.id if assignment is not None else ""


def _link_applied(assignment: Assignment | None) -> bool:
    """Whether this link's settings were taken already: once per session, and again for another assignment link."""
    return st.session_state.get("_train_init") == _link(assignment)


def _init_from_url(assignment: Assignment | None) -> list[str]:
    """On a session's first visit, take the preset and values from the shared link (an assignment's values, and
    from the link only the settings it lets students change)."""
    if _link_applied(assignment):
        return []
    st.session_state._train_init = _link(assignment)
    params = st.query_params.to_dict()
    if assignment is not None:
        st.session_state.train_preset = assignment.preset
        _load_preset_values(assignment.preset, assignment.hparams())
        found, notes = train_link.values(params, assignment.allowed, assignment.param, assignment.hparams())
    else:
        name, note = train_link.preset(params.get("preset"))
        st.session_state.train_preset = name
        _load_preset_values(name)
        found, notes = train_link.values(params, PARAMS, hparams.ranges_for(_sizes()).__getitem__, _fitted(name))
        notes = [note, *notes] if note else notes
    for name, value in found.items():
        st.session_state[_key(name)] = value
    return notes


def _widget(param: hparams.Param) -> None:
    label = f"{param.label} ({param.range_text()})"
    help_text = (param.help + " " if param.help else "") + f"Allowed: {param.range_text()}."
    key = _key(param.name)
    if param.choices:
        st.selectbox(label, param.choices, key=key, help=help_text)
    elif param.name == "dropout":
        st.slider(label, float(param.low), float(param.high), step=0.01, key=key, help=help_text)
    # Numbers without the widget's own bounds: it kept a typed value outside them in the box, unapplied, while
    # Start trained with the previous one. `_checked` says what is wrong instead.
    elif param.kind is float:
        st.number_input(label, format="%.5f", step=0.0005, key=key, help=help_text)
    else:
        st.number_input(label, step=1, key=key, help=help_text, placeholder="none" if param.optional else None)


def _checked(values: dict[str, Any], param_of) -> bool:
    """Whether every value is within its range (an assignment's narrower one too); says which are not."""
    problems = []
    for name, value in values.items():
        try:
            param_of(name).check(value)
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        st.error("Cannot train with these settings: " + ui.escape(" ".join(problems)) + " Change the value to "
                 "one within its range to start.", icon="⛔")
    return not problems


def _settings(assignment: Assignment | None = None) -> HParams | None:
    """The form (with an assignment: only the settings it lets students change, within its ranges, on its data
    set); returns validated settings or None after explaining what is wrong."""
    if assignment is None:
        dataset = ui.attempt(lambda: dataset_picker.choose(
            "train_dataset", on_change=lambda: _load_preset_values(st.session_state.get("train_preset", "dlwp"))))
        if dataset is None:
            return None
    else:
        dataset = assignment.hparams().dataset
    notes = _init_from_url(assignment)
    scarce = ui.attempt(lambda: datasets.too_little_for(dataset))
    if scarce:
        st.warning(ui.escape(scarce), icon="🌱")
    if assignment is None and st.session_state.get("_train_values_for") != dataset:  # this data set's ranges
        _load_preset_values(st.session_state.train_preset)
    for note in notes:
        st.warning(ui.escape(note), icon="🔗")
    if assignment is None:
        name = st.selectbox(
            "Preset", list(PRESETS), key="train_preset", format_func=lambda n: f"{n} — {hparams.DESCRIPTIONS[n]}",
            on_change=lambda: _load_preset_values(st.session_state.train_preset),
        )
        base, fixed, ranges = _fitted(name), {}, hparams.ranges_for(_sizes())
        shown, param_of = hparams.used(base), ranges.__getitem__
    else:
        assignment_form.describe(assignment)
        name, base = assignment.preset, assignment.hparams()
        shown = tuple(p for p in hparams.used(base) if p in assignment.allowed)
        fixed = {p: getattr(base, p) for p in PARAMS if p not in assignment.allowed}
        param_of = assignment.param
    cols = st.columns(4)
    for n, param_name in enumerate(shown):
        with cols[n % 4]:
            _widget(param_of(param_name))
    values = {p: st.session_state[_key(p)] for p in shown}
    if not _checked(values, param_of):
        return None
    changed = {p: v for p, v in values.items() if v != getattr(base, p)}
    link = ({"assignment": assignment.id} if assignment is not None else
            {"preset": name, **({"dataset": dataset} if dataset != hparams.DEFAULT_DATASET else {})})
    st.query_params.from_dict({**link, **{p: "" if v is None else str(v) for p, v in changed.items()}})
    try:
        return hparams.make(name, dataset=dataset, **fixed, **values)
    except ConfigError as exc:
        st.error(f"Cannot train with these settings: {ui.escape(exc)}", icon="⛔")
        return None


def _preflight(hp: HParams) -> bool:
    """What the architecture says before training (e.g. how many words GloVe knows); False when it cannot train."""
    check = architectures.get(hp.architecture).preflight
    try:
        notes = check(hp) if check else []
    except LabError as exc:
        st.error(str(exc), icon="⛔")
        return False
    for level, text in notes:
        if level == "warning":
            st.warning(text, icon="⚠️")
        else:
            st.caption(text)
    return True


def _before_training(hp: HParams) -> bool:
    """The layer table, time and memory estimates; False (after saying why) when the server cannot afford the run."""
    needed = ui.attempt(lambda: memory.refuse_too_large(hp))
    if needed is None:
        return False
    params = memory.parameters(hp)
    info = dataset_picker.info(hp.dataset)
    classes = info.num_classes if info is not None else 2
    rows = layer_table.rows(hp.to_dict(), classes) if params <= memory.LAYER_TABLE_MAX_PARAMS else None
    past = ui.store().list(with_history=True)
    wait = ui.attempt(lambda: estimate.refuse_too_long(hp, past))
    if wait is None:
        return False
    left, right = st.columns([3, 2])
    with left:
        st.markdown("**The model**")
        if rows:
            st.dataframe(rows, hide_index=True, width="stretch")
            total = sum(r["parameters"] for r in rows)
            frozen = sum(r["parameters"] for r in rows if not r["trainable"])
            st.caption(f"{total:,} parameters in all" + (f": {total - frozen:,} trainable, {frozen:,} frozen (not "
                                                         "changed by training)." if frozen else "."))
        elif params > memory.LAYER_TABLE_MAX_PARAMS:
            st.caption(f"About {params:,} parameters: too many to build a copy of the model just to list its layers.")
        else:
            st.caption(architectures.get(hp.architecture).unsized_note)
        if hp.pooling:
            st.caption(hparams.pooling_note(hp))
    with right:
        st.markdown("**Before you start**")
        whole = (f"{ui.seconds(wait.shortest)} to {ui.seconds(wait.longest)}" if wait.may_stop_early
                 else ui.seconds(wait.longest))
        st.metric("Estimated wait", whole, help="From pressing Start to the results: preparing the data, training, "
                  f"then scoring the {wait.test_reviews:,} test reviews and saving. Epoch time {wait.basis}.")
        st.metric("Estimated memory", memory.gigabytes(needed.total),
                  help=f"Estimated before anything is built: {needed.describe()}.")
        st.caption(f"{hp.train_reviews():,} training reviews, {hp.val_size:,} for validation, "
                   f"{hp.epochs} epoch(s) of {-(-hp.train_reviews() // hp.batch_size):,} batches. "
                   f"Preparing the data: {ui.seconds(wait.preparing)}; each epoch: {ui.seconds(wait.epoch)}; "
                   f"scoring the {wait.test_reviews:,} test reviews and saving: {ui.seconds(wait.finishing)}.")
        if wait.may_stop_early:
            st.caption(f"Early stopping (patience {hp.patience}) ends training once validation loss has not improved "
                       f"for {hp.patience} epochs (counted once the model does better than guessing), so it may stop "
                       f"after as few as {wait.fewest_epochs} of the {hp.epochs}.")
    return _preflight(hp)


# --- probes ------------------------------------------------------------------------------------------------
def _probes_editor(dataset: str) -> None:
    probes = ui.pinned_probes(dataset)
    st.markdown("**Pinned reviews** — scored again after every epoch")
    if not probes:
        st.caption("None yet: type one below, or pin reviews on the Explore page.")
    for n, text in enumerate(list(probes)):
        c1, c2 = st.columns([10, 1])
        c1.markdown(f"“{ui.escape(text)}”")
        if c2.button("✕", key=f"unpin_{n}_{text[:20]}", help="Unpin"):
            ui.unpin_probe(text, dataset)
            st.rerun()
    with st.form("pin_form", clear_on_submit=True, border=False):
        c1, c2 = st.columns([10, 2])
        typed = c1.text_input("Pin a review", placeholder="Type a short review to follow during training",
                              label_visibility="collapsed")
        if c2.form_submit_button("📌 Pin", width="stretch"):
            refused = ui.pin_probe(typed, dataset)
            if refused:
                st.warning(refused)
            else:
                st.rerun()


# --- the run -----------------------------------------------------------------------------------------------
def _current_run(owner: str) -> AnyRun | None:
    runner = ui.runner()
    run_id = st.session_state.get("train_run_id")
    run = runner.get(run_id) if run_id is not None else None
    if run is None or run.owner != owner:
        mine = runner.runs(owner)
        run = mine[0] if mine else None
    if run is not None:
        st.session_state.train_run_id = run.id
    return run


def _wait(snap: RunRecord) -> estimate.Wait | None:
    """The run's whole-wait estimate, made once per run (it reads every earlier run's epochs); None when its data
    set was removed, so its sizes are unknown."""
    key = f"_train_wait_{snap.id}"
    if key not in st.session_state:
        try:
            st.session_state[key] = estimate.whole_wait(snap.live.hp, ui.store().list(with_history=True))
        except ConfigError:
            st.session_state[key] = None
    return st.session_state[key]


def _time_left(snap: RunRecord) -> str:
    """' · about 40 s left' (at most, with early stopping), ' · almost done', or nothing while no figure is honest."""
    in_phase = time.time() - snap.live.phase_started_at if snap.live.phase_started_at else 0.0
    wait = _wait(snap)
    if wait is None:
        return ""
    live = snap.live
    left = estimate.seconds_left(wait, live.phase, live.epoch, live.batch, live.batches, live.phase_seconds, in_phase,
                                 snap.history)
    if left is None:
        return ""
    if left < estimate.ALMOST_DONE:
        return " · almost done"
    if snap.live.phase == "training" and snap.live.hp.patience:
        return f" · at most about {ui.seconds(left)} left (early stopping may end it sooner)"
    return f" · about {ui.seconds(left)} left"


def _queue_text(snap: RunRecord) -> str:
    """Where the run waits in the queue (`QueueInfo.message`), or "Starting…" once it has left it."""
    run = ui.runner().get(snap.id)
    key = f"_train_past_{snap.id}"  # earlier runs' epochs for the estimates, read once per run
    if key not in st.session_state:
        st.session_state[key] = ui.store().list(with_history=True)
    info = ui.runner().queue_info(run, st.session_state[key]) if run is not None else None
    return "Starting…" if info is None else info.message()


def _progress(snap: RunRecord) -> None:
    if snap.status == "queued":
        st.info(_queue_text(snap), icon="⏳")
        return
    if snap.live.phase == "waiting":  # the ray executor: the cluster has no free worker yet
        st.info("Waiting for a free worker on the training cluster…", icon="⏳")
    if snap.live.phase == "preparing":
        st.progress(0.0, text="Preparing the data…")
    elif snap.live.phase == "training":
        done = snap.live.epoch * snap.live.batches + snap.live.batch
        total = max(snap.live.hp.epochs * snap.live.batches, 1)
        epoch = f"Epoch {min(snap.live.epoch + 1, snap.live.hp.epochs)} of {snap.live.hp.epochs}"
        if snap.live.stop_requested:
            text = f"{epoch} · stopping after batch {snap.live.batch:,} of {snap.live.batches:,}…"
        elif snap.live.batches and snap.live.batch >= snap.live.batches:  # every batch of the epoch done: the validation pass
            text = f"{epoch} · all {snap.live.batches:,} batches done · validating on {snap.live.hp.val_size:,} reviews…"
        else:
            text = f"{epoch} · batch {snap.live.batch:,} of {snap.live.batches:,} · {done:,} of {total:,} batches done"
        st.progress(min(done / total, 1.0), text=text + ("" if snap.live.stop_requested else _time_left(snap)))
    elif snap.live.phase in ("evaluating", "saving"):
        wait = _wait(snap)
        scoring = f"scoring the {wait.test_reviews:,} test reviews" if wait else "scoring the test reviews"
        done = "Stopped; testing the model as it is: " if snap.live.stop_requested else "Training done; "
        text = f"{done}{scoring}…" if snap.live.phase == "evaluating" else "Saving the model…"
        st.progress(1.0, text=text + _time_left(snap))
    elif snap.live.phase == "baseline":
        st.progress(1.0, text="Model saved; computing the baseline (majority class, TF-IDF + logistic regression) "
                              "on the same split…")


def _labels(snap: RunRecord) -> tuple[str, ...]:
    """The run's class names: its data set's, or, once that was removed, those its model folder keeps (without an
    error on every view: the results below say once that the data set is gone)."""
    try:
        return datasets.info(snap.live.hp.dataset).class_names
    except LabError:
        pass
    try:
        saved = bundle.dataset_info(Path(snap.model_dir)) if snap.model_dir else {}
        return tuple(saved.get("label_names") or saved["labels"]) if saved else imdb.LABELS
    except (OSError, ValueError, KeyError):
        return imdb.LABELS


def _curves(snap: RunRecord, compare: bool) -> None:
    series = [(f"#{snap.id} {snap.live.hp.preset}", snap.history)]
    if compare:
        earlier = [r for r in ui.store().list(with_history=True) if r.owner == snap.owner and r.id != snap.id]
        series += [(r.title, r.history) for r in earlier if r.history][:6]
    log_loss = st.session_state.get("train_log_loss", False)
    best = evaluation.best_epoch(snap.history) if not snap.active else None
    span = max([charts.epoch_span(snap), *(len(history) for _, history in series)])
    st.plotly_chart(present.chart(charts.curves(series, log_loss=log_loss, best_epoch=best, epochs=span)),
                    width="stretch", key=f"curves_{snap.id}")
    if snap.live.probes:
        labels = _labels(snap)
        st.plotly_chart(present.chart(charts.probes(snap.live.probes, snap.live.probe_scores, epochs=span,
                                                    labels=labels)),
                        width="stretch", key=f"probes_{snap.id}")


def _live(run_id: int) -> None:
    """The run as it trains, drawn again every LIVE_SECONDS: its title, Stop, progress and curves. The curves'
    figures change only when an epoch ends (charts.py caches them by their data), and the browser draws a chart
    again only when its figure changed, so between epochs a redraw costs little."""
    run = ui.runner().get(run_id)
    snap = run.snapshot()
    head, stop = st.columns([5, 1])
    head.subheader(f"Run #{snap.id} · {snap.live.hp.preset} · {snap.status}")
    if snap.active:
        label = "Cancel" if snap.status == "queued" else "⏹ Stop"
        if stop.button(label, key=f"stop_{snap.id}", disabled=snap.live.stop_requested, width="stretch"):
            ui.attempt(lambda: run.stop(ui.actor()))
            snap = run.snapshot()  # what the page says next follows the stop at once
        if snap.live.stop_requested:
            st.caption("Stopping after the current batch (an epoch cut short is not counted); the model so far is "
                       "then tested on the test reviews and kept.")
    _headline(snap)
    _progress(snap)
    if snap.history:
        compare = False
        if not present.on():  # the projector shows the curves alone
            c1, c2 = st.columns(2)
            c1.toggle("Log scale for loss", key="train_log_loss")
            compare = c2.toggle("Show my earlier runs", key="train_compare")
        _curves(snap, compare)
    elif snap.active and snap.status != "queued":
        st.caption("The loss and accuracy curves appear here after the first epoch.")
    if not snap.active and st.session_state.get("_train_shown_done") != snap.id:
        st.session_state._train_shown_done = snap.id
        st.rerun(scope="app")


def _headline(snap: RunRecord) -> None:
    """A finished run's results, first thing under its title."""
    if snap.active or snap.test_accuracy is None:
        return
    c1, c2, c3, c4 = st.columns(4)
    loss = f"Test loss {snap.test_loss:.4f}." if snap.test_loss is not None else None
    c1.metric("Test accuracy", ui.percent(snap.test_accuracy), help=loss)
    c2.metric("Epochs", len(snap.history))
    c3.metric("Training time", ui.seconds(snap.train_seconds))
    c4.metric("Whole time", ui.seconds(sum(snap.live.phase_seconds.values())),
              help="From the start to the results: " + ", ".join(
                  f"{phase} {ui.seconds(seconds)}" for phase, seconds in snap.live.phase_seconds.items()) + ".")
    ui.baseline_note(snap.test_accuracy, snap.baseline, _labels(snap))


def _results(snap: RunRecord) -> None:
    if snap.status == "failed":
        st.error(f"Training failed: {ui.escape(snap.error)}", icon="⛔")
        return
    if snap.status == "stopped" and snap.test_accuracy is None:
        st.info(ui.escape(snap.error or "The run was cancelled."))
        return
    if snap.status == "stopped" and not snap.live.hp.patience:
        st.caption(ui.escape(snap.error or "Stopped early: these are the scores of the model as it was when it "
                                           "stopped."))
    else:
        st.markdown(ui.escape(evaluation.stop_reason(snap.history, snap.live.hp.epochs, snap.live.hp.patience,
                                                     snap.status == "stopped")))
    best = evaluation.best_epoch(snap.history)
    if best is not None:
        st.markdown(f"Lowest validation loss at **epoch {best}** (green dotted line).")
    note = evaluation.overfitting_note(snap.history)
    if note:
        st.warning(note, icon="📈")
    if snap.model_dir:
        class_results.where_it_goes_wrong(snap.id, snap.model_dir, snap.live.hp.dataset, snap.live.hp.num_words)
        st.page_link("pages/predict.py", label="Score your own review with this model", icon="💬",
                     query_params={"run": snap.id})


# --- the settings panel ------------------------------------------------------------------------------------
SETTINGS = "train_settings"  # the Settings panel's open state; its content is built only while it is open
KEPT = ("train_preset", *(_key(p) for p in PARAMS))  # the values it holds, kept while it is folded away


def _keep_settings() -> None:
    """The panel's values survive the views that leave it folded: Streamlit forgets the value of a widget that a
    view does not draw, and a value set through the session state it keeps."""
    for key in KEPT:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def _link_waiting(assignment: Assignment | None) -> bool:
    """Whether a shared link's settings are not yet applied in this session: the panel opens to apply them and to
    say what it changed, even under an earlier run."""
    if _link_applied(assignment):
        return False
    return assignment is not None or any(k in st.query_params for k in ("preset", *PARAMS))


def _panel_state(assignment: Assignment | None) -> None:
    """Folded once a run exists (its results matter more), folded again after Start, open for a new link."""
    if st.session_state.pop("_train_fold", False):
        st.session_state[SETTINGS] = False
    elif _link_waiting(assignment):
        st.session_state[SETTINGS] = True
    _keep_settings()


def _start_panel(me: Actor, snap: RunRecord | None, assignment: Assignment | None) -> None:
    """The settings, their estimates, the pinned reviews and Start: built only while the panel is open, so that a
    page watching its run does not draw (and the browser does not load) a form nobody looks at."""
    hp = _settings(assignment)
    if hp is not None and not _before_training(hp):
        hp = None
    if hp is not None and me.is_teacher and assignment is None:
        assignment_form.maker(hp)
    if assignment is not None:
        pinned_on = assignment.hparams().dataset
    else:
        pinned_on = st.session_state.get(dataset_picker.CHOICE, hparams.DEFAULT_DATASET)
    _probes_editor(pinned_on)
    busy = snap is not None and snap.active
    refusal = None
    try:  # said before the click, not after it
        permissions.check_may_train(me, assignment is not None)
    except LabError as exc:
        refusal = str(exc)
        st.info(ui.escape(refusal), icon="🎓")
    if busy:
        doing = "waits in the queue" if snap.status == "queued" else "keeps going"
        start_help = (f"Run #{snap.id} {doing}; this one waits for its turn in the class's queue (each student may "
                      "have a few runs waiting).")
    else:
        start_help = None
    if st.button("▶ Start training", key="train_start", type="primary", disabled=hp is None or refusal is not None,
                 help=start_help):  # a key: a click counts even when the help or state changed meanwhile
        probes = tuple(ui.pinned_probes(hp.dataset))
        started = ui.attempt(lambda: ui.runner().submit(hp, owner=me, probes=probes, assignment=assignment))
        if started is not None:
            st.session_state.train_run_id = started.id
            st.session_state._train_fold = True
            st.rerun()


# --- page --------------------------------------------------------------------------------------------------
ui.require_data()
ui.require_store()
me = ui.visitor()
owner = me.token
projector = present.view()
st.title("🏋️ Train a model")
assignment = assignment_form.from_link()
run = _current_run(owner)
snap = run.snapshot() if run else None

_panel_state(assignment)
settings = st.expander("Settings", expanded=run is None and not projector, key=SETTINGS, on_change="rerun")
with settings:
    if settings.open:
        _start_panel(me, snap, assignment)

if run is None:
    st.info("Pick a preset, adjust it if you like, and press **Start training**. The curves appear here "
            "and gain a point after every epoch.")
else:
    if not snap.active:  # drawn whole on this view: the live part need not rerun the page to show its results
        st.session_state._train_shown_done = snap.id  # (that rerun wiped the link's notes above)
    st.fragment(_live, run_every=LIVE_SECONDS if snap.active else None)(run.id)
    if not snap.active and not projector:
        _results(snap)
