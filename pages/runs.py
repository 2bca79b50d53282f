"""Runs: every training this lab has kept. Sort and filter them, overlay their curves, rename, note, download, delete."""
from __future__ import annotations

import time
from typing import Callable

import streamlit as st

from core import architectures, export, hparams, raw_text_model
from core.data import datasets
from core.classroom import guarded, permissions
from core.run_record import ACTIVE, USABLE, RunRecord
from pages import charts, confirm, dataset_picker, run_link, run_table, ui

PICK = "runs_pick"  # the run ids picked to compare and manage
LINKED = "_runs_linked_run"  # the `run` URL value already applied to the picked runs
FLOW = confirm.Flow("runs")  # the run id whose deletion waits for a yes; what the last action did
MAX_PICK = 8
WATCH_SECONDS = 2.0  # how often the page looks for new epochs while a run trains
REDRAW_SECONDS = 10.0  # the least time between two redraws for news: each draws the whole page again
DRAWN_AT = "_runs_drawn_at"  # time.monotonic() of the page's last draw
CURVES_OPEN = "runs_curves_open"  # the learning curves' expander
CURVES_WANTED = "_runs_curves_wanted"  # whether this visitor last left it open (its own state ends with the page)
STATUS_ICONS = ui.STATUS_ICONS


def _label(record: RunRecord) -> str:
    name = f" {record.name}" if record.name else ""
    return f"#{record.id}{name} · {record.preset} · {record.status} · {permissions.owner_label(record)}"


# --- actions (button callbacks: they run before the page is drawn again) --------------------------------------
def _save_text(run_id: int) -> None:
    def save() -> str:
        guarded.update_text(ui.store(), run_id, ui.actor(), name=st.session_state.get(f"runs_name_{run_id}", ""),
                            note=st.session_state.get(f"runs_note_{run_id}", ""))
        return f"Saved the name and note of run #{run_id}."

    FLOW.run(save)


def _delete(run_id: int) -> Callable[[], str]:
    def delete() -> str:
        record = guarded.delete(ui.store(), run_id, ui.actor())
        return f"Deleted run #{run_id} ({record.title}), its curves and its model files."

    return delete


def _stop(run_id: int) -> None:
    def stop() -> str:
        run = ui.runner().get(run_id)
        if run is None:
            return f"Run #{run_id} is no longer training or waiting."
        queued = run.snapshot().status == "queued"
        run.stop(ui.actor())
        return (f"Cancelled run #{run_id}: it has left the queue." if queued else
                f"Stopping run #{run_id} after its current batch; the model so far is kept and tested.")

    FLOW.run(stop)


# --- pieces of the page ---------------------------------------------------------------------------------------
def _filters(records: list[RunRecord]) -> list[RunRecord]:
    # Every preset and status, not only those present, so a chosen filter never loses its option.
    presets = list(hparams.PRESETS) + sorted({r.preset for r in records} - set(hparams.PRESETS))
    statuses = list(STATUS_ICONS) + sorted({r.status for r in records} - set(STATUS_ICONS))
    c1, c2, c3, c4 = st.columns([2, 2, 3, 2])
    chosen_presets = c1.multiselect("Preset", presets, key="runs_f_preset", placeholder="all presets")
    chosen_statuses = c2.multiselect("Status", statuses, key="runs_f_status", placeholder="all statuses",
                                     format_func=run_table.status)
    text = c3.text_input("Search name and note", key="runs_f_text", placeholder="e.g. dropout, best, #12")
    order = c4.selectbox("Sort", export.SORTS, key="runs_f_sort")
    shown = export.filter_runs(records, presets=chosen_presets, statuses=chosen_statuses, text=text)
    return export.sort_runs(shown, order)


def _table(shown: list[RunRecord], total: int, dataset: str | None) -> None:
    on = f" on {dataset}" if dataset else ""  # the data-set filter is named, or "5 of 5" reads against "10 kept"
    if not shown:
        st.info(f"None of the {total} runs{ui.escape(on)} match these filters.", icon="🔎")
        return
    rows = [{"Run": row.pop("Run"), "Student": permissions.owner_label(record),
             **dataset_picker.with_dataset(row, record)} for row, record in zip(export.run_rows(shown), shown)]
    for row in rows:
        row["Status"] = run_table.status(row["Status"])
        for column in ("Best val. acc.", "Test acc.", "Majority class", "TF-IDF + LR"):  # one decimal in every row
            row[column] = run_table.percent(row[column])
    run_table.show(rows, "runs_table", 520, {
        "Student": st.column_config.TextColumn("Student", width=100),
        "Preset": st.column_config.TextColumn("Preset", width=80),
        "Status": st.column_config.TextColumn("Status", width=115),
        "Epochs": st.column_config.TextColumn("Epochs", width=70, help="Finished of planned"),
        "Date": st.column_config.TextColumn("Date", width=135),
        "Batch": st.column_config.NumberColumn("Batch", width=65),
        "Majority class": st.column_config.NumberColumn(
            "Majority class", format="%.1f%%", help="Baseline: always answering the most common class of the "
            "training reviews, on the same test reviews (– for runs recorded before baselines)"),
        "Learning rate": st.column_config.NumberColumn("Learning rate", format="%g", width=110),
        "Duration (s)": st.column_config.NumberColumn("Duration", format="%.0f s", width=85),
        "Model settings": st.column_config.TextColumn("Model settings", width="medium",
                                                      help="The settings this preset's architecture uses"),
    })
    st.caption(f"Showing {len(shown)} of {total} runs{ui.escape(on)}. Click a column header to sort by it; scroll sideways for "
               "every setting and the notes.")


def _follow_link() -> None:
    """A `?run=ID` link puts that run first among the picked ones and switches the data-set picker to its data set,
    whatever it held; once per link value."""
    record = run_link.follow(LINKED, me, lambda: ui.store().list(), "is not on this server (it may have been deleted)")
    if record is not None:
        st.session_state[PICK] = [record.id] + [i for i in st.session_state.get(PICK, []) if i != record.id]


def _picker(records: list[RunRecord], shown: list[RunRecord]) -> list[RunRecord]:
    by_id = {r.id: r for r in records}
    picked = [i for i in st.session_state.get(PICK, []) if i in by_id]  # deleted runs drop out
    if PICK not in st.session_state:  # first visit: the newest run with a model, else the newest with curves
        usable = [r for r in records if r.status in USABLE and r.model_dir]
        picked = [(usable or [r for r in records if r.history] or records)[0].id]
    st.session_state[PICK] = picked[:MAX_PICK]
    options = [r.id for r in shown] + [i for i in picked if i not in {r.id for r in shown}]
    st.multiselect(
        "Runs to compare and manage", options, key=PICK, max_selections=MAX_PICK,
        format_func=lambda i: _label(by_id[i]), placeholder="Pick one or more runs from the table",
        help=f"Their learning curves are drawn together below (up to {MAX_PICK}), each with its own details.",
    )
    chosen = [by_id[i] for i in st.session_state[PICK] if i in by_id]
    run_link.show(LINKED, chosen[0].id if chosen else None)
    return chosen


def _compare(picked: list[RunRecord]) -> None:
    with_curves = [r for r in picked if r.history]
    if not with_curves:
        st.info("The picked runs have no finished epochs yet, so there are no curves to draw.", icon="📉")
        return
    # Drawn only while open (kept open for this visitor once opened): the chart's code is the heaviest part of the
    # page for a browser to load, several seconds of its CPU on a busy classroom machine
    box = st.expander("📈 Learning curves of the picked runs", expanded=st.session_state.get(CURVES_WANTED, False),
                      key=CURVES_OPEN, on_change="rerun")
    st.session_state[CURVES_WANTED] = bool(box.open)
    if not box.open:
        return
    with box:
        epochs = max(len(r.history) for r in with_curves)
        st.plotly_chart(charts.curves([(f"#{r.id} {r.name or r.preset}", r.history) for r in with_curves],
                                      epochs=epochs), width="stretch", key="runs_curves")
        st.caption("Dashed lines: training. Solid lines: validation. The first picked run is drawn thickest.")


def _sentence(text: str | None, default: str) -> str:
    text = (text or default).strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _status_message(record: RunRecord) -> None:
    done, planned = len(record.history), record.config.get("epochs")
    epochs = f"{done} of {planned} epochs" if planned else f"{done} epochs"
    if record.status == "running":
        st.info(f"Still training: {epochs} finished so far. This page updates as epochs finish.", icon="🏃")
    elif record.status == "queued":
        st.info("Waiting in the training queue.", icon="⏳")
    elif record.status == "failed":
        st.error(f"Training failed: {ui.escape(_sentence(record.error, 'no message was recorded'))} "
                 f"It finished {epochs} before that.", icon="⛔")
    elif record.status == "interrupted":
        st.warning(f"Interrupted: {ui.escape(_sentence(record.error, 'the training stopped before it finished'))} "
                   f"It finished {epochs}; the curves show them.", icon="⚠️")
    elif record.status == "stopped":
        st.info(ui.escape(record.error) if record.error
                else f"Stopped early by its owner after {epochs}; the model as it was then is kept.", icon="⏹")


def _downloads(record: RunRecord) -> None:
    model = export.model_file(record)
    slots = iter(st.columns(3))
    if model.ok:
        path = model.path

        def model_bytes() -> bytes:  # read on click, not on every redraw of the page
            return path.read_bytes()

        next(slots).download_button(f"⬇ Model (.keras, {model.size / 1e6:.1f} MB)", data=model_bytes,
                           file_name=export.download_name(record, ".keras"), mime="application/octet-stream",
                           key=f"runs_dl_model_{record.id}", on_click="ignore", width="stretch")
        run_dir = record.model_dir

        def raw_text_bytes() -> bytes:  # built on click: a few seconds, up to 30 for the fast preset
            return raw_text_model.exported_bytes(run_dir)

        next(slots).download_button("⬇ Model for plain Keras (reads raw text)", data=raw_text_bytes,
                                    file_name=export.download_name(record, "-raw-text.keras"),
                                    mime="application/octet-stream", key=f"runs_dl_raw_{record.id}",
                                    on_click="ignore", width="stretch",
                                    help="One .keras file that scores raw strings with this run's own "
                                         "tokenizer and vocabulary, in any Python with TensorFlow and Keras: "
                                         "`keras.saving.load_model(FILE).predict(tf.constant([\"a wonderful "
                                         "film\"]))`. No lab code needed. See the README.")
    if record.history:
        next(slots).download_button("⬇ History (.csv)", data=export.history_csv(record.history),
                           file_name=export.download_name(record, "-history.csv"), mime="text/csv",
                           key=f"runs_dl_hist_{record.id}", on_click="ignore", width="stretch")
    if not model.ok:
        if record.status in ACTIVE:
            st.caption(ui.escape(model.problem))
        else:
            st.warning(ui.escape(model.problem), icon="📁")


def _edit(record: RunRecord) -> None:
    with st.form(f"runs_text_{record.id}", border=False):
        st.text_input("Name", value=record.name, key=f"runs_name_{record.id}", max_chars=80,
                      placeholder=f"#{record.id} {record.preset}")
        st.text_area("Note", value=record.note, key=f"runs_note_{record.id}", max_chars=2000, height=90,
                     placeholder="What did you try, and what happened?")
        st.form_submit_button("💾 Save name and note", on_click=_save_text, args=(record.id,))


def _delete_controls(record: RunRecord) -> None:
    if FLOW.asked() == record.id:
        FLOW.confirm(f"Delete **{ui.escape(record.title)}** for good? This removes its record, its curves and its "
                     "model files. It cannot be undone.", "🗑", "Yes, delete it",
                     (f"runs_del_yes_{record.id}", f"runs_del_no_{record.id}"), _delete(record.id))
    elif record.status in ACTIVE:  # every waiting run of a student can be cancelled here, not only the newest
        queued = record.status == "queued"
        st.button("✕ Cancel this run" if queued else "⏹ Stop this run", key=f"runs_stop_{record.id}",
                  on_click=_stop, args=(record.id,), width="stretch",
                  help="It leaves the queue; nothing is trained." if queued else
                  "It stops after its current batch; the model so far is kept and tested.")
    else:
        st.button("🗑 Delete this run…", key=f"runs_del_{record.id}", on_click=FLOW.ask, args=(record.id,),
                  help="You will be asked to confirm.")


def _details(record: RunRecord) -> None:
    _status_message(record)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Best val. accuracy", ui.percent(record.best_val_accuracy))
    c2.metric("Test accuracy", ui.percent(record.test_accuracy))
    c3.metric("Epochs", f"{len(record.history)} of {record.config.get('epochs', '?')}")
    c4.metric("Duration", ui.seconds(record.duration))
    if record.test_accuracy is not None:
        ui.baseline_note(record.test_accuracy, record.baseline, datasets.class_names_of(record.dataset))
    used = architectures.uses(record.config.get("architecture", "")) + hparams.COMMON
    settings = " · ".join(f"{k} = {record.config.get(k)}" for k in used if k in record.config)
    st.caption(f"Run #{record.id} · preset **{record.preset}** · {record.config.get('architecture', '?')} · {settings}")
    if record.note:
        st.markdown(f"📝 {ui.escape(record.note)}".replace("\n", "  \n"))  # its lines kept
    _downloads(record)
    if not permissions.can_change(me, record):
        st.caption(f"This run belongs to {ui.escape(permissions.owner_label(record))}: only its owner or the teacher "
                   "can rename, annotate or delete it.")
        return
    left, right = st.columns([3, 2])
    with left:
        _edit(record)
    with right:
        st.markdown("**Cancel**" if record.status == "queued" else "**Stop**" if record.status in ACTIVE
                    else "**Delete**")
        _delete_controls(record)


def _watch(token: tuple) -> None:
    """While a run trains, look for news every few seconds and redraw the page when there is some, at most every
    REDRAW_SECONDS."""
    if time.monotonic() - st.session_state.get(DRAWN_AT, 0.0) < REDRAW_SECONDS:
        return
    if ui.attempt(lambda: ui.store().changes()) != token:  # a store that fails is shown by the page's own run
        st.rerun(scope="app")


# --- page -----------------------------------------------------------------------------------------------------
st.title("🗂️ Runs")
st.session_state[DRAWN_AT] = time.monotonic()
with st.container():  # the cookie script a first visit gets stays in this box: what follows keeps its place in the
    me = ui.visitor()  # page on the next redraw (a moved text box drops what the user was typing)
FLOW.show()
token = ui.attempt(lambda: ui.store().changes())  # read first: a change while the page draws is not missed
records = ui.attempt(lambda: permissions.visible(me, ui.store().list(with_history=True)))
if records is None or token is None:
    st.stop()
_follow_link()
if not records:
    st.info("No runs yet. Train a model and it will be listed here, with its curves, scores and settings.", icon="🗂️")
    st.page_link("pages/train.py", label="Train your first model", icon="🏋️")
    st.stop()

running = sum(r.status in ACTIVE for r in records)
head, refresh = st.columns([5, 1])
head.caption(f"{len(records)} run{'' if len(records) == 1 else 's'} kept on this server"
             + (f" · {running} still training or queued" if running else ""))
refresh.button("🔄 Refresh", key="runs_refresh", width="stretch")
# Always drawn, so the page keeps its shape when the last run ends (a shifted layout would drop half-typed text).
st.fragment(_watch, run_every=WATCH_SECONDS if running else None)(token)

dataset = dataset_picker.choose("runs_dataset", everything=True)
everyone, records = records, [r for r in records if dataset is None or dataset_picker.of_run(r) == dataset]
if not records:  # every run is on other data sets (none at all stopped above)
    dataset_picker.offer_others(dataset, everyone, noun="run", verb="Show", key="runs_switch", icon="🗂️")
    st.stop()
shown = _filters(records)
_table(shown, len(records), dataset)

st.subheader("Compare and manage")
picked = _picker(records, shown)
if not picked:
    st.info("Pick one or more runs above to see their curves, rename them, add a note, download or delete them.",
            icon="👆")
    st.stop()
_compare(picked)
# One tab per picked run, named by what never changes: a tab whose name changed (a saved name, a status) was
# drawn anew and the first tab was shown again.
tab_names = [ui.escape(f"#{r.id} · {r.preset} · {permissions.owner_label(r)}") for r in picked]
for tab, record in zip(st.tabs(tab_names), picked):
    with tab:
        _details(record)
