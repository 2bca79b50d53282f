"""Pretrained vectors: what GloVe knows about words before any training, what training changes, and when starting
from it helps. The work is in core.pretrained and core.learning_curve; this page only draws."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from core import architectures, hparams, learning_curve, predict, pretrained
from core.errors import LabError
from core.settings import starts_from_glove
from core.learning_curve import LearningCurve, Progress
from core.run_record import RunRecord
from pages import dataset_picker, ui

MAX_SIZES, SIZE_RANGE = 6, (100, 10_000)
GAP = "GloVe minus scratch (points)"


# --- neighbours --------------------------------------------------------------------------------------------
def _vector_runs() -> list[RunRecord]:
    """Finished runs that started from pretrained vectors: an architecture that reads them (any setting but a random
    start), or a preset fitted to a small data set that starts from GloVe (lstm's `pooling` "glove")."""
    out = []
    for record in ui.attempt(lambda: ui.store().usable()) or []:
        entry = architectures.ARCHITECTURES.get(record.config.get("architecture", ""))
        reads_vectors = entry is not None and "vectors" in entry.uses and record.config.get("vectors") != "random"
        if reads_vectors or starts_from_glove(record.config.get("pooling"), record.config.get("embedding_dim")):
            out.append(record)
    return out


def _table(pairs: list[tuple[str, float]]) -> None:
    st.dataframe([{"word": w, "cosine similarity": round(s, 3)} for w, s in pairs], hide_index=True, width="stretch")


def _neighbours() -> None:
    st.markdown("GloVe learned each word's vector from which words appear near it in Wikipedia and news text, "
                "so words used in the same places end up close: *topic and usage, not opinion*. "
                "Type a word to see its nearest words before training and after.")
    runs = _vector_runs()
    by_id = {r.id: r for r in runs}
    choice = st.selectbox("Trained model", [None, *by_id], key="neighbours_run",
                          format_func=lambda i: "none: GloVe only" if i is None else
                          f"{by_id[i].title} · {dataset_picker.of_run(by_id[i])} · {by_id[i].config.get('vectors')} "
                          f"· test accuracy {ui.percent(by_id[i].test_accuracy)}",
                          index=1 if runs else 0,
                          help="Finished runs that started from GloVe: the transfer preset's, and the lstm preset's "
                               "on a small data set.")
    record = by_id.get(choice)
    num_words = int(record.config["num_words"]) if record else hparams.preset("transfer").num_words
    try:  # a run's ids are its own data set's words: IMDB's only for a run on IMDB
        trained, vocabulary = predict.trained_vectors(record.model_dir) if record else (None, ui.vocabulary())
        word = st.text_input("Word", value=pretrained.example_word(vocabulary, num_words), key="neighbours_word",
                             max_chars=40)
        found = pretrained.compare(word, vocabulary, num_words, trained)
    except LabError as exc:
        st.error(str(exc), icon="⛔")
        return
    if found.problem:
        st.warning(found.problem, icon="❓")
        return
    left, right = st.columns(2)
    with left:
        among = ui.escape(dataset_picker.of_run(record) if record else dataset_picker.DEFAULT)
        st.markdown(f"**In GloVe** (before training), among the {num_words:,} most frequent words of {among}")
        if found.glove is None:
            st.info(f"GloVe has no vector for “{found.word}”: in a run it starts random.")
        else:
            _table(found.glove)
    with right:
        if record is None:
            st.markdown("**After training**")
            st.info("Train the **transfer** preset on the Train page to see how training moves the words.")
        else:
            st.markdown(f"**In {record.title}** after training ({record.config.get('vectors')} vectors)")
            _table(found.trained or [])
            if record.config.get("vectors") == "frozen":
                st.caption("Frozen vectors do not move in training, so both lists are the same.")
    if not runs:
        st.page_link("pages/train.py", label="Train the transfer preset", icon="🏋️")


# --- learning curves ---------------------------------------------------------------------------------------
def _sizes() -> tuple[tuple[int, ...], str | None]:
    """Training-set sizes from the link (`?sizes=200,500`), or the defaults; a note when the link's were refused."""
    raw = st.query_params.get("sizes")
    if not raw:
        return learning_curve.SIZES, None
    try:
        sizes = tuple(sorted({int(part) for part in raw.split(",")}))
        if not 0 < len(sizes) <= MAX_SIZES or not all(SIZE_RANGE[0] <= n <= SIZE_RANGE[1] for n in sizes):
            raise ValueError
    except ValueError:
        return learning_curve.SIZES, (f"The link's sizes={raw!r} are not 1 to {MAX_SIZES} whole numbers from "
                                      f"{SIZE_RANGE[0]:,} to {SIZE_RANGE[1]:,}; using the defaults.")
    return sizes, None


def _figure(progress: Progress) -> go.Figure:
    fig = go.Figure()
    for n, (label, color) in enumerate(zip(learning_curve.STARTS.values(), ("#868e96", "#1f5fbf"))):
        points = [p for p in progress.points if p.start == label]
        fig.add_trace(go.Scatter(x=[p.reviews for p in points], y=[p.test_accuracy for p in points], name=label,
                                 mode="lines+markers", line={"color": color, "dash": "dot" if n == 0 else "solid"}))
    fig.update_layout(height=360, margin={"t": 30, "b": 40}, legend={"orientation": "h", "y": 1.12},
                      xaxis={"title": "training reviews", "type": "log"},
                      yaxis={"title": f"test accuracy ({progress.test_reviews:,} reviews)", "tickformat": ".0%"})
    return fig


def _rows(progress: Progress) -> list[dict[str, object]]:
    by_size: dict[int, dict[str, float]] = {}
    for p in progress.points:
        by_size.setdefault(p.reviews, {})[p.start] = p.test_accuracy
    scratch, glove = learning_curve.STARTS.values()
    rows = []
    for reviews, acc in sorted(by_size.items()):
        both = scratch in acc and glove in acc
        rows.append({"training reviews": reviews, scratch: acc.get(scratch), glove: acc.get(glove),
                     GAP: round(100 * (acc[glove] - acc[scratch]), 1) if both else None})
    return rows


def _verdict(rows: list[dict[str, object]]) -> str:
    """What the measured numbers say, whichever way they went."""
    diffs = [(r["training reviews"], r[GAP]) for r in rows if r[GAP] is not None]
    if not diffs:
        return ""
    best = max(diffs, key=lambda d: d[1])
    parts = [f"{n:,} reviews: {d:+.1f}" for n, d in diffs]
    if all(abs(d) < 2 for _, d in diffs):
        head = "Here pretraining made no clear difference: every gap is under 2 points, within the noise of one seed."
    elif best[1] >= 2:
        head = f"Starting from GloVe helped most with {best[0]:,} training reviews ({best[1]:+.1f} points)."
    else:
        head = "Here starting from GloVe did worse than starting from scratch."
    return head + " Gaps in points, GloVe minus scratch: " + "; ".join(parts) + "."


def _curve_view(job: LearningCurve) -> None:
    progress = job.snapshot()
    done = len(progress.points)
    if progress.running:
        st.progress(done / progress.total, text=f"{done} of {progress.total} models trained…")
    if progress.error:
        st.error(f"The comparison stopped: {progress.error}", icon="⛔")
    if progress.points:
        st.plotly_chart(_figure(progress), width="stretch", key="learning_curve_chart")
        rows = _rows(progress)
        st.dataframe(rows, hide_index=True, width="stretch")
        seconds = sum(p.seconds for p in progress.points)
        st.caption(f"{ui.seconds(seconds)} of training and scoring so far. Test accuracy on the first "
                   f"{progress.test_reviews:,} test reviews; one seed per point.")
        if not progress.running:
            st.markdown(_verdict(rows))
    if not progress.running and st.session_state.get("_curve_shown_done") is not job:
        st.session_state._curve_shown_done = job
        st.rerun(scope="app")


def _curves() -> None:
    sizes, note = _sizes()
    st.markdown("The same small model (the transfer preset with 10,000 words, 200 ids per review, batch 32, 8 epochs) "
                "is trained twice on each number of reviews: once from random vectors (*from scratch*) and once "
                "from GloVe's (*from GloVe*, fine-tuned). Each is then scored on the same test reviews. "
                f"{2 * len(sizes)} small trainings: a few minutes on a 2-core machine.")
    if note:
        st.warning(note, icon="🔗")
    try:
        pretrained.load()
    except LabError as exc:
        st.error(str(exc), icon="⛔")
        return
    job: LearningCurve | None = st.session_state.get("curve_job")
    latest, starter = learning_curve.latest()
    if latest is not None and latest is not job and latest.snapshot().running:  # after a reload, or another's
        job = st.session_state.curve_job = latest
        whose = "yours, from before the page was reloaded" if starter == ui.owner() else "another visitor's"
        st.info(f"A comparison is running on this server ({whose}): its progress is below.", icon="⏳")
    running = job is not None and job.snapshot().running
    if st.button("▶ Compare from scratch and from GloVe", type="primary", disabled=running,
                 help=f"Training sets of {', '.join(f'{n:,}' for n in sizes)} reviews."):
        started = LearningCurve(sizes=sizes)
        try:
            started.start(ui.owner())
        except LabError as exc:
            st.warning(str(exc), icon="⏳")
        else:
            job, running = started, True
            st.session_state.curve_job = job
    if job is not None:
        st.fragment(_curve_view, run_every=1.0 if running else None)(job)


# --- page --------------------------------------------------------------------------------------------------
ui.require_data()
st.title("🧭 Pretrained word vectors")
st.caption("GloVe 6B 50d (Stanford; public domain, PDDL 1.0): 400,000 words, 50 numbers each, learned from "
           "6 billion words of Wikipedia and news. The transfer preset starts its embedding from them.")
neighbours_tab, curves_tab = st.tabs(["Neighbours", "When does pretraining help?"])
with neighbours_tab:
    _neighbours()
with curves_tab:
    _curves()
