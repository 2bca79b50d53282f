"""The Explore page, driven through streamlit.testing's AppTest on the real data (no browser)."""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("IMDB_DATA_DIR", str(Path(__file__).resolve().parents[1].parent / "shared" / "data"))

import re  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from core import explore  # noqa: E402
from core.data.imdb import load_corpus  # noqa: E402
from core.data.vocab import load_vocabulary  # noqa: E402

APP = Path(__file__).resolve().parents[1] / "app.py"
HEADER = re.compile(r"#### Review #(\d+) .*:(red|green)-badge\[(negative|positive)\]")


PAGE = 5  # reviews per page by default


@pytest.fixture()
def at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The app opened on the Explore page, with a throw-away lab home."""
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(tmp_path / "lab"))
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.run()
    app.switch_page("pages/explore.py").run()
    assert_ok(app)
    return app


def assert_ok(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]


def shown(app: AppTest) -> list[tuple[int, str]]:
    """(review index, label) of every review card on the page, in order."""
    found = [HEADER.match(m.value) for m in app.markdown]
    return [(int(m.group(1)), m.group(3)) for m in found if m]


def summary(app: AppTest) -> str:
    return next(m.value for m in app.markdown if "Showing" in m.value)


def test_renders_first_page_with_marks(at: AppTest) -> None:
    cards = shown(at)
    assert [i for i, _ in cards] == list(range(PAGE))
    corpus = load_corpus()
    assert [label for _, label in cards] == [explore.LABEL_NAMES[int(y)] for y in corpus.train.y[:PAGE]]
    assert summary(at).startswith("**25,000** training reviews")
    bodies = " ".join(h.value for h in at.html)
    assert "&gt;</span>" in bodies  # the start mark, as a badge
    assert "dashed" in bodies and "<s " in bodies  # words beyond num_words, marked as ?word
    assert not at.code  # raw ids are hidden until the toggle is on


def test_search_terms_are_shown_as_text(at: AppTest) -> None:
    at.text_input(key="q").set_value("**!** [](#)").run()  # no words at all: the message quotes it whole
    assert_ok(at)
    assert any("“\\*\\*!\\*\\* \\[\\](#)” has no words" in w.value for w in at.warning), \
        [w.value for w in at.warning]


def test_search_narrows_results_and_highlights(at: AppTest) -> None:
    at.text_input(key="q").set_value("waste of time").run()
    assert_ok(at)
    corpus, vocab = load_corpus(), load_vocabulary()
    phrase = vocab.encode("waste of time")[1:]
    expected = explore.select(corpus.train, phrase=phrase)
    assert 0 < len(expected) < 25_000
    assert summary(at).startswith(f"**{len(expected):,}** training reviews contain “waste of time”")
    cards = shown(at)
    assert [i for i, _ in cards] == expected.indices[:PAGE].tolist()
    for index, _ in cards:
        ids = corpus.train.x[index].tolist()
        assert any(ids[k : k + 3] == phrase for k in range(len(ids)))
    marked = [h.value for h in at.html if "<mark" in h.value and "waste" in h.value]
    assert len(marked) >= len(cards)


def test_ids_toggle_shows_raw_ids(at: AppTest) -> None:
    at.toggle(key="show_ids").set_value(True).run()
    assert_ok(at)
    corpus = load_corpus()
    codes = [c.value for c in at.code]
    assert len(codes) == PAGE
    assert codes[0] == " ".join(str(i) for i in corpus.train.x[0].tolist())
    assert codes[0].startswith("1 ")


def test_word_not_in_index_says_so(at: AppTest) -> None:
    at.text_input(key="q").set_value("great qwzxv").run()
    assert_ok(at)
    assert any("not in the word index" in w.value and "qwzxv" in w.value for w in at.warning)
    assert shown(at) == []
    assert any("No review matches" in i.value for i in at.info)


def test_test_split_and_label_filter(at: AppTest) -> None:
    at.segmented_control(key="split").set_value("test").run()
    at.segmented_control(key="label").set_value("negative").run()
    assert_ok(at)
    corpus = load_corpus()
    expected = np.flatnonzero(corpus.test.y == 0)[:PAGE].tolist()
    cards = shown(at)
    assert [i for i, _ in cards] == expected
    assert {label for _, label in cards} == {"negative"}
    assert summary(at).startswith("**12,500** negative test reviews")


def test_paging_and_page_reset(at: AppTest) -> None:
    at.pagination(key="page").set_value(3).run()
    assert_ok(at)
    assert [i for i, _ in shown(at)] == list(range(2 * PAGE, 3 * PAGE))
    at.segmented_control(key="label").set_value("positive").run()  # a new filter starts again on page 1
    corpus = load_corpus()
    assert [i for i, _ in shown(at)] == np.flatnonzero(corpus.train.y == 1)[:PAGE].tolist()


def test_jump_out_of_range_drops_the_old_review_and_says_why(at: AppTest) -> None:
    assert_ok(at.number_input(key="review").set_value(42).run())
    assert shown(at)[0][0] == 42
    assert_ok(at.number_input(key="review").set_value(30_000).run())
    assert 42 not in [i for i, _ in shown(at)][:1] and not any(b.key == "close_review" for b in at.button)
    assert any("There is no review #30,000 among the 25,000 training reviews" in e.value for e in at.error)
    assert_ok(at.number_input(key="review").set_value(-1).run())
    assert any("numbered 0 to 24,999" in e.value for e in at.error)


def test_jump_to_index(at: AppTest) -> None:
    at.number_input(key="review").set_value(4242).run()
    assert_ok(at)
    cards = shown(at)
    assert cards[0][0] == 4242
    label = explore.LABEL_NAMES[int(load_corpus().train.y[4242])]
    assert cards[0][1] == label
    assert any(f"result 4,243 of 25,000, on page {4242 // PAGE + 1}" in c.value for c in at.caption)
    at.button(key="close_review").click().run()
    assert_ok(at)
    assert shown(at)[0][0] == 0


def test_charts_tab(at: AppTest) -> None:
    at.session_state["tab"] = "Charts"
    at.run()
    assert_ok(at)
    assert len(at.get("plotly_chart")) == 3
    lengths = load_corpus().train.x.lengths
    expected = f"maxlen 500 truncates {(lengths > 500).mean():.1%} of reviews"
    assert any(expected in m.value for m in at.markdown)
    at.slider(key="maxlen").set_value(200).run()
    assert_ok(at)
    assert any(f"maxlen 200 truncates {(lengths > 200).mean():.1%}" in m.value for m in at.markdown)


def test_word_index_tab(at: AppTest) -> None:
    at.session_state["tab"] = "Word index"
    at.run()
    at.text_input(key="lookup_word").set_value("Brilliant").run()
    assert_ok(at)
    rank = load_vocabulary().word_to_rank["brilliant"]
    assert [m.value for m in at.metric][:3] == ["brilliant", f"{rank:,}", f"{rank + 3:,}"]
    at.text_input(key="lookup_word").set_value("Brilliant!").run()  # case and punctuation as in the reviews
    assert [m.value for m in at.metric][:1] == ["brilliant"]
    at.text_input(key="lookup_word").set_value("qwzxv").run()
    assert any("not in the word index" in w.value for w in at.warning)
    at.number_input(key="lookup_rank").set_value(1).run()
    assert "the" in [m.value for m in at.metric]


def test_pin_review_for_training(at: AppTest) -> None:
    """The pin is the review's words (no `>` start mark), cut to a legend's line, and kept for a new tab."""
    from core import pins

    at.button(key="pin_list_3").click().run()
    assert_ok(at)
    ids = load_corpus().train.x[3]
    assert ids[0] == 1 and len(ids) > 100
    text = pins.clean(load_vocabulary().decode(ids[1:]))
    assert not text.startswith(">") and text.endswith("…") and len(text) <= pins.MAX_PIN_CHARS
    assert text in at.session_state["_pins_imdb"]
    assert text in pins.load(at.session_state["owner"], "imdb"), "kept in the lab home for a reload or a new tab"


def test_vocabulary_size_and_raw_ids_are_in_the_address(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(tmp_path / "lab"))
    from pagetest import open_page

    assert open_page("pages/explore.py").select_slider(key="num_words").value == 10_000
    at = open_page("pages/explore.py", num_words="5000", show_ids="true")
    assert at.select_slider(key="num_words").value == 5_000 and at.toggle(key="show_ids").value
    assert at.code, "raw ids shown"
    assert_ok(at.select_slider(key="num_words").set_value(2_000).run())
    assert at.query_params["num_words"] == "2000"
    assert_ok(at.select_slider(key="num_words").set_value(10_000).run())
    assert "num_words" not in at.query_params, "the default keeps the address short"
    at = open_page("pages/explore.py", num_words="1234")
    assert at.select_slider(key="num_words").value == 10_000
    assert any("num_words='1234' is not one of the vocabulary sizes" in w.value for w in at.warning)


def test_link_values_the_page_ignores_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTIMENT_LAB_HOME", str(tmp_path / "lab"))
    app = AppTest.from_file(str(APP), default_timeout=60)
    for name, value in {"split": "foo", "label": "bogus", "page": "99999"}.items():
        app.query_params[name] = value
    app.switch_page("pages/explore.py").run()
    assert_ok(app)
    said = " ".join(w.value for w in app.warning)
    assert "split='foo' was ignored: the splits are train and test" in said
    assert "label='bogus' was ignored: the labels are all, positive, negative" in said
    assert "page='99999' was ignored: the pages here are 1 to 5,000" in said
    app.run()
    assert not app.warning, "said once"
