"""Class board: every run of this lesson in one live table, a leaderboard, the ideas tried more than once, and
curves overlaid. The teacher (unlocked on the Teacher page) can hide runs, export the board as CSV and clear it for
a new lesson; with sharing turned off, a student's board lists only their own runs."""
from __future__ import annotations

import streamlit as st

from core import baseline, hparams
from core.classroom import board
from core.data import datasets
from core.classroom.people import Actor
from core.run_record import ACTIVE, RunRecord
from pages import charts, confirm, present, run_table, ui

PICK = "board_pick"
FLOW = confirm.Flow("board")  # whether clearing the board waits for a yes; what the last action did
MAX_PICK = 8
LIVE_SECONDS = 3.0  # while a run trains or waits: progress and queue places move between epochs
IDLE_SECONDS = 5.0  # otherwise: a new run from any student appears within this long


def _hide(run_ids: list[int], hidden: bool) -> None:
    def change() -> str:
        for run_id in run_ids:
            board.set_hidden(run_id, hidden, actor=ui.actor())
        runs = ", ".join(f"#{i}" for i in run_ids)
        return f"{'Hid' if hidden else 'Showed again'} {runs} on the board."

    FLOW.run(change)


def _clear() -> str:
    board.clear_lesson(actor=ui.actor())
    return "The board is clear for a new lesson; its runs are kept on the Runs page."


def _busy(records: list[RunRecord]) -> bool:
    """Whether any run trains or waits (hidden and archived ones too, so every view agrees on the pace)."""
    return any(r.status in ACTIVE for r in records)


def _snapshots() -> dict[int, RunRecord]:
    return {run.id: run.snapshot() for run in ui.runner().runs()}


def _status(r: board.Row) -> str:
    """The row's status, with the expected time to a queued run's results."""
    expected = f" · results in about {ui.seconds(r.result_seconds)}" if r.result_seconds is not None else ""
    return run_table.status(r.run.status, r.status_text) + expected


def _table(rows: list[board.Row]) -> None:
    datasets = any(r.run.dataset != hparams.DEFAULT_DATASET for r in rows)  # a column only when it tells runs apart
    table = [{
        "Rank": r.rank, "Run": r.run.id, "Student": r.student, "Name": r.run.name, "Assignment": r.assignment,
        **({"Data set": r.run.dataset} if datasets else {}), "Preset": r.run.preset,
        "Changed settings": r.changes_text,
        "Best val. acc.": run_table.percent(r.run.best_val_accuracy),
        "Test acc.": run_table.percent(r.run.test_accuracy), "Majority class": _majority(r),
        "TF-IDF + LR": run_table.percent(r.run.baseline.tfidf_accuracy if r.run.baseline is not None else None),
        "Epochs": f"{len(r.run.history)} of {r.epochs_planned}" if r.epochs_planned else str(len(r.run.history)),
        "Time": ui.seconds(r.seconds), "Status": _status(r),
        "Tried by": f"{r.group_size} runs{' · best' if r.group_best else ''}" if r.group_size > 1 else "1 run",
    } for r in rows]
    run_table.show(table, "board_table", 640, {
        "Rank": st.column_config.NumberColumn("Rank", width=55, help="Equal test accuracies share a place"),
        "Assignment": st.column_config.TextColumn("Assignment", help="The assignment link the run was started from"),
        "Changed settings": st.column_config.TextColumn("Changed settings", width="medium", help="The settings "
                                                        "that differ from the preset (as fitted to the run's data set)"),
        "Majority class": st.column_config.TextColumn(
            "Majority class", help="Baseline: always answering the most common class, on the same test reviews (– "
            "when not known: runs recorded before baselines)"),
        "Tried by": st.column_config.TextColumn("Tried by", help="Runs of this lesson with the same preset and "
                                                "changed settings (any seed)"),
    })


def _majority(r: board.Row) -> str | None:
    """The majority-class baseline with the class it answers, as text (a table cell is never read as markup)."""
    figures = r.run.baseline
    if figures is None:
        return None
    names = datasets.class_names_of(r.run.dataset)
    return f"{ui.percent(figures.majority_accuracy)} ({baseline.class_name(names, figures.majority_class)})"


PRESENT_STYLE = """<style>
.lab-board { width: 100%; table-layout: fixed; border-collapse: collapse; font-size: 1.25rem; line-height: 1.35; }
.lab-board th { font-size: .8rem; color: #495057; text-align: left; border-bottom: 3px solid #adb5bd; padding: 0 .4rem; }
.lab-board td { padding: .15rem .4rem; border-bottom: 1px solid #dee2e6; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.lab-board .num { text-align: right; font-variant-numeric: tabular-nums; }
.lab-board tr.top td { font-weight: 700; }
</style>"""


def _present_table(rows: list[board.Row]) -> None:
    """The projector's board: rank, student, test accuracy and status, in type for the back of a room and always
    fitting the width (an HTML table: the data grid draws its cells on a canvas, in its own small type)."""
    cells = []
    for r in rows:
        status = _status(r)
        cells.append(
            f"<tr class='{'top' if r.rank == 1 else ''}'><td class='num'>{r.rank or '–'}</td>"
            f"<td>{ui.escape(r.student, 'html')}</td><td class='num'>{ui.percent(r.run.test_accuracy)}</td>"
            f"<td>{ui.escape(status, 'html')}</td></tr>")
    st.html(PRESENT_STYLE + "<table class='lab-board'><colgroup><col style='width:9%'><col style='width:38%'>"
            "<col style='width:20%'><col style='width:33%'></colgroup><thead><tr><th class='num'>Rank</th>"
            "<th>Student</th><th class='num'>Test accuracy</th><th>Status</th></tr></thead><tbody>"
            + "".join(cells) + "</tbody></table>")


def _baselines(rows: list[board.Row]) -> str | None:
    """The reference figures under the projector's table, so a class tells learning from guessing: one figure when
    the runs share it (one data set and split), else their range; None when no run has them."""
    known = [r.run.baseline for r in rows if r.run.baseline is not None]
    if not known:
        return None

    def span(values: list[float]) -> str:
        low, high = min(values), max(values)
        return ui.percent(low) if low == high else f"{ui.percent(low)} to {ui.percent(high)}"

    return (f"On the same test texts, always answering the most common class scores "
            f"{span([b.majority_accuracy for b in known])}, TF-IDF + logistic regression "
            f"{span([b.tfidf_accuracy for b in known])}.")


def _groups(rows: list[board.Row]) -> None:
    tried = board.groups(rows)
    if tried:
        lines = [f"- **{ui.escape(key)}**: {count} runs, best test accuracy {ui.percent(best)}"
                 for key, count, best in tried]
        st.markdown("**Ideas tried more than once**\n" + "\n".join(lines))


def _overlay(rows: list[board.Row], records: dict[int, RunRecord]) -> None:
    by_id = {r.run.id: r for r in rows}
    if PICK in st.session_state:
        st.session_state[PICK] = [i for i in st.session_state[PICK] if i in by_id][:MAX_PICK]
    picked = st.multiselect("Runs to overlay", list(by_id), key=PICK, max_selections=MAX_PICK,
                            format_func=lambda i: f"#{i} {by_id[i].student} · {by_id[i].run.preset} · {by_id[i].status_text}",
                            placeholder="Pick runs to draw their curves together")
    series = [(f"#{i} {by_id[i].student}", records[i].history) for i in picked if records[i].history]
    if series:
        epochs = max(charts.epoch_span(records[i]) for i in picked)
        st.plotly_chart(present.chart(charts.curves(series, epochs=epochs)), width="stretch",
                        key="board_curves")
    elif picked:
        st.caption("The picked runs have no finished epoch yet; their curves appear after the first one.")


def _teacher_tools(rows: list[board.Row], shown_hidden: bool, me: Actor) -> None:
    picked = [i for i in st.session_state.get(PICK, []) if i in {r.run.id for r in rows}]
    st.markdown("**Teacher**")
    c1, c2, c3, c4 = st.columns(4)
    c1.button("🙈 Hide the picked runs", key="board_hide", disabled=not picked, on_click=_hide, args=(picked, True),
              width="stretch", help="Pick runs above; they leave the board (their records are kept).")
    if shown_hidden:
        c2.button("👁 Show the picked runs again", key="board_unhide", disabled=not picked, on_click=_hide,
                  args=(picked, False), width="stretch")
    c3.download_button("⬇ Export the board (.csv)", data=lambda: board.csv_text(rows, actor=me),
                       file_name="class-board.csv", mime="text/csv", key="board_csv", on_click="ignore",
                       width="stretch")
    if FLOW.asked():
        FLOW.confirm("Clear the board for a new lesson? Its runs leave the board but stay kept (Runs page, and on "
                     "disk).", "🧹", "Yes, clear the board", ("board_clear_yes", "board_clear_no"), _clear)
    else:
        c4.button("🧹 Clear for a new lesson…", key="board_clear", width="stretch", on_click=FLOW.ask)


def _board(live: bool, projector: bool, me: Actor) -> None:
    """The whole board, drawn again every few seconds: progress and queue places change between epochs."""
    state = ui.attempt(board.load_state)
    records = ui.attempt(lambda: ui.store().list(with_history=True))
    if state is None or records is None:
        return
    teacher = me.is_teacher
    show_hidden = teacher and not projector and st.toggle("Show hidden runs", key="board_show_hidden")
    rows = ui.attempt(lambda: board.rows(records, _snapshots(), state, me, show_hidden=show_hidden,
                                         forecasts=ui.runner().forecasts(records)))
    if rows is None:
        return
    if _busy(records) != live:  # a run started or the last one ended: poll at the other pace
        st.rerun(scope="app")
    FLOW.show()
    if not rows:
        st.info("No runs in this lesson yet. Each run started on the Train page appears here as it trains.", icon="🏆")
        return
    if projector:  # the rows get the screen: the order chosen before, the leaderboard by default
        _present_table(board.sort_rows(rows, st.session_state.get("board_sort", board.LEADERBOARD)))
        reference = _baselines(rows)
        if reference:
            st.markdown(reference)
        return
    order = st.radio("Order", board.SORTS, key="board_sort", horizontal=True, index=1)
    ordered = board.sort_rows(rows, order)
    hidden_note = f" · {len(state.hidden)} hidden by the teacher" if state.hidden and not show_hidden else ""
    st.caption(f"{len(rows)} run{'' if len(rows) == 1 else 's'} this lesson · {board.active_count(rows)} training "
               f"or queued{hidden_note}")
    _table(ordered)
    _groups(rows)
    _overlay(ordered, {r.id: r for r in records})
    if teacher and not projector:
        _teacher_tools(ordered, show_hidden, me)  # the CSV in the order shown


# --- page -----------------------------------------------------------------------------------------------------
me = ui.visitor()
projector = present.view()
st.title("🏆 Class board")
ui.require_store()
found = ui.attempt(lambda: ui.store().list())
if found is None:
    st.stop()
active = _busy(found)
st.fragment(_board, run_every=LIVE_SECONDS if active else IDLE_SECONDS)(active, projector, me)
