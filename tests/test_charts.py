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
