"""The shared Plotly figures: the epoch axis stays cheap to redraw on long runs."""
from __future__ import annotations

from pages import charts

HISTORY = [{"epoch": e, "loss": 1 / e, "val_loss": 1.1 / e, "accuracy": 0.8, "val_accuracy": 0.79, "seconds": 1.0}
           for e in (1, 2, 3)]


def test_short_runs_get_a_tick_per_epoch() -> None:
    fig = charts.curves([("#1 dlwp", HISTORY)], epochs=8)
    assert fig.layout.xaxis.dtick == 1 and fig.layout.xaxis2.dtick == 1
    assert list(fig.layout.xaxis.range) == [0.5, 8.5]


def test_long_runs_get_a_tick_every_5_or_10_epochs() -> None:
    assert charts.curves([("#1 dlwp", HISTORY)], epochs=40).layout.xaxis.dtick == 5
    for fig in (charts.curves([("#1 lstm", HISTORY)], epochs=100), charts.probes(["great"], [[0.9]] * 3, epochs=100)):
        assert fig.layout.xaxis.dtick == 10 and fig.layout.xaxis.tick0 == 0
        assert list(fig.layout.xaxis.range) == [0.5, 100.5], "the axis still shows the whole planned run"


def test_user_labels_are_text_in_legends_and_hover() -> None:
    """A run name or pinned review with HTML or a hover-template variable stays literal text."""
    fig = charts.curves([('<a href="https://example.com/">x</a> %{y}', HISTORY)], epochs=3)
    assert fig.data[0].name.startswith('&lt;a href="https://example.com/"&gt;x&lt;/a&gt; %{y}')
    assert all("example.com" not in t.hovertemplate for t in fig.data)
    probe = charts.probes(["<b>bold</b> & co"], [[0.9]] * 2)
    assert probe.data[0].name == "&lt;b&gt;bold&lt;/b&gt; &amp; co"
    assert "bold" not in probe.data[0].hovertemplate


def test_a_shared_figure_is_turned_into_a_dict_once_and_the_projector_changes_a_copy() -> None:
    """st.plotly_chart asks for the figure's dict on every view of Runs, the board and Train: a shared figure makes
    it once. The projector's larger type goes on a copy, never on the figure other sessions see."""
    import streamlit as st

    from pages import present

    fig = charts.curves([("#1 dlwp", HISTORY), ("#2 fast", HISTORY)], epochs=3)
    assert fig.to_dict() is fig.to_dict()
    st.session_state[present.FLAG] = True
    try:
        big = present.chart(fig)
    finally:
        del st.session_state[present.FLAG]
    assert big.layout.font.size == present.CHART_FONT and big.data[0].name == fig.data[0].name
    assert fig.to_dict()["layout"]["font"]["size"] == 15 and fig.layout.font.size == 15


def test_redrawing_a_class_worth_of_curves_costs_little_and_new_data_draws_anew() -> None:
    """The board overlays up to eight runs and Train redraws every second: finding the cached figure must not
    cost the server more than drawing it once did (hashing eight runs of 100 epochs took 40 ms of CPU)."""
    import statistics
    import time

    history = [{**HISTORY[0], "epoch": e, "loss": 1 / e} for e in range(1, 101)]
    series = [(f"#{n} dlwp", history) for n in range(8)]
    fig = charts.curves(series, epochs=100)
    costs = []
    for _ in range(5):
        started = time.process_time()
        assert charts.curves([(label, list(h)) for label, h in series], epochs=100) is fig  # equal data, cached
        costs.append(time.process_time() - started)
    assert statistics.median(costs) < 0.015, costs
    changed = [(label, h[:-1] + [{**h[-1], "val_loss": 0.123}]) for label, h in series]
    assert charts.curves(changed, epochs=100) is not fig
    assert charts.curves(series + [("#9 fast", history[:3])], epochs=100) is not fig
    assert charts.probes(["great"], [[0.9], [0.8]]) is not charts.probes(["great"], [[0.9], [0.7]])


def test_the_epoch_axis_fits_a_finished_run_and_a_training_one_reaches_its_possible_stop() -> None:
    """A small set's 100-epoch budget ends near epoch 10: a finished run's axis is its epochs, a training run's its
    epochs so far plus the patience (capped by the plan), or the plan without early stopping."""
    from core.run_record import RunRecord

    def run(status: str, epochs: int, patience: int | None, done: int = 3) -> RunRecord:
        return RunRecord(id=1, status=status, config={"epochs": epochs, "patience": patience},
                         history=tuple(HISTORY[:done]))

    assert charts.epoch_span(run("finished", 100, 4)) == 3
    assert charts.epoch_span(run("stopped", 100, None, done=0)) == 1
    assert charts.epoch_span(run("running", 100, 4)) == 7
    assert charts.epoch_span(run("running", 5, 4)) == 5
    assert charts.epoch_span(run("running", 100, None)) == 100


def test_the_lowest_loss_note_sits_inside_the_chart() -> None:
    early = charts.curves([("#1 fast", HISTORY)], best_epoch=1, epochs=3).layout.annotations
    late = charts.curves([("#1 fast", HISTORY)], best_epoch=3, epochs=3).layout.annotations
    assert [a.xanchor for a in early if "lowest" in a.text] == ["left"]
    assert [a.xanchor for a in late if "lowest" in a.text] == ["right"]
