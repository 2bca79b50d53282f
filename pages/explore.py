"""Explore: read the reviews as the model stores them (word ids), search them, and chart the data set.

All counting and searching happens in core.explore; this page draws controls, reviews and Plotly charts.
The state worth sharing (split, label, search, page, review, tab) is bound to the URL query string.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import streamlit as st

from core import explore, hparams
from core.data import datasets, imdb
from core.data.datasets import DatasetInfo
from core.errors import LabError, quoted
from core.hparams import PARAMS
from core.data.vocab import Vocabulary
from pages import charts, dataset_picker, explore_cache, palette, ui

VOCAB_STEPS = (500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000)  # below the data set's own "all"
DEFAULT_VOCAB = 10_000
NOTEBOOK_MAXLEN = 500  # the notebooks' sequence length: IMDB's, and the most a fitted preset reads
MAXLEN_STEP = 10
VOCAB_LINKED = "_explore_num_words_url"  # the `num_words` URL value already applied to the slider
PER_PAGE = (5, 10, 20, 50)
TABS = ("Reviews", "Charts", "Word index")
BADGE_COLORS = ("blue", "orange", "violet", "green", "red", "gray")
SPLIT_NAMES = {"train": "training", "test": "test"}


# --- the data set's classes ------------------------------------------------------------------------------------


def _is_imdb(info: DatasetInfo) -> bool:
    return info.name == datasets.DEFAULT


def _filters(info: DatasetInfo) -> tuple[str, ...]:
    return explore.LABEL_FILTERS if _is_imdb(info) else ("all", *info.class_names)


def _label_id(info: DatasetInfo, name: str) -> int | None:
    """The class a filter keeps, or None for all reviews."""
    return explore.label_value(name) if _is_imdb(info) else (None if name == "all" else info.class_names.index(name))


def _classes(info: DatasetInfo) -> list[tuple[int, str, str]]:
    """(id, name, colour) of each class in the order charts draw them: IMDB positive first, in its own colours."""
    if _is_imdb(info):
        return [(k, explore.LABEL_NAMES[k], palette.IMDB_CLASSES[explore.LABEL_NAMES[k]]) for k in (1, 0)]
    return [(k, name, palette.SERIES[k % len(palette.SERIES)]) for k, name in enumerate(info.class_names)]


def _per_split(info: DatasetInfo, corpus: imdb.Corpus) -> dict[str, np.ndarray]:
    """Reviews of each class in each split, by the split's name as the page says it."""
    return {SPLIT_NAMES[s]: np.bincount(explore.split_of(corpus, s).y, minlength=info.num_classes)
            for s in explore.SPLITS}


def _badge(info: DatasetInfo, label: int) -> str:
    name = ui.escape(info.class_names[label])
    color = ("red", "green")[label] if _is_imdb(info) else BADGE_COLORS[label % len(BADGE_COLORS)]
    return f":{color}-badge[{name}]"


def _counts(info: DatasetInfo, split_name: str, label: int | None) -> np.ndarray:
    """How often each word id occurs in the split (of one class, or all), cached per server."""
    return explore_cache.counts(name=info.name, fingerprint=info.fingerprint, split=split_name, label=label,
                                size=info.max_id + 1)


def _sizes(info: DatasetInfo) -> tuple[int, ...]:
    """The vocabulary sizes offered: the usual steps below the data set's size, then all of its words."""
    return tuple(n for n in VOCAB_STEPS if n <= info.max_id) + (info.max_id + 1,)


# --- small drawing helpers ------------------------------------------------------------------------------------


def _vocab_label(n: int) -> str:
    return f"all ({n:,})" if n > TOP_ID else f"{n:,}"


def _vocabulary_size_from_url(sizes: tuple[int, ...]) -> None:
    """`?num_words=5000` sets the vocabulary slider, once per link value (a bound slider would put "5,000" in it)."""
    raw = st.query_params.get("num_words")
    if VOCAB_LINKED in st.session_state and raw == st.session_state[VOCAB_LINKED]:
        return
    st.session_state[VOCAB_LINKED] = raw
    try:
        st.session_state["num_words"] = _default_size(sizes) if raw is None else explore.vocabulary_size(raw, sizes)
    except LabError as exc:
        st.warning(ui.escape(exc), icon="🔗")
        st.session_state["num_words"] = _default_size(sizes)


def _default_size(sizes: tuple[int, ...]) -> int:
    return DEFAULT_VOCAB if DEFAULT_VOCAB in sizes else sizes[-1]


def _dataset_changed() -> None:
    """Another data set: its own classes, reviews and vocabulary, from the first page."""
    st.session_state["label"] = "all"
    st.session_state["page"] = 1
    st.session_state["review"] = None
    st.session_state.pop("maxlen", None)  # the new data set's own start
    st.session_state.pop(VOCAB_LINKED, None)
    st.query_params.pop("num_words", None)


def _say_if_ignored(name: str, allowed: Sequence[str], expected: str) -> None:
    """A link's value that a bound widget would drop without a word (`?split=foo`) is named, on the session's first
    look at it (a link opens a new session; later values are the widgets' own)."""
    raw = st.query_params.get(name)
    seen = f"_explore_link_{name}"
    if seen in st.session_state:
        return
    st.session_state[seen] = True
    if raw is not None and raw not in allowed:
        st.warning(f"The link's {name}={ui.escape(quoted(raw))} was ignored: {ui.escape(expected)}.", icon="🔗")


def _first_page() -> None:
    """Filters changed: start again from the first page of results."""
    st.session_state["page"] = 1


def _close_review() -> None:
    st.session_state["review"] = None


def _legend(num_words: int) -> None:
    sample = [explore.Word(1, ">", "start"), explore.Word(2, "?", "unknown"),
              explore.Word(num_words, "word", "clipped"), explore.Word(20, "match", "word", True)]
    parts = zip(sample, ("start of review (id 1)", "unknown in the data (id 2)",
                         f"word outside num_words {num_words:,}: the model sees ?", "search match"))
    st.html('<div style="font-size:1.05rem;line-height:2.2">'
            + " &nbsp;&nbsp; ".join(f"{explore_cache.word_html(w, num_words)} {ui.escape(t, 'html')}"
                                    for w, t in parts) + "</div>")


def _pin(vocab: Vocabulary, ids: np.ndarray, dataset: str) -> None:
    """Pin a review (its words, without the start mark) for the Train page's per-epoch probe chart on its data set
    (decoded on click, not on every view)."""
    words = ids[1:] if len(ids) and ids[0] == imdb.START else ids
    refused = ui.pin_probe(vocab.decode(words), dataset)
    st.toast(refused or "Pinned: the Train page scores this review after every epoch.", icon="📌")


def _show_review(info: DatasetInfo, split: imdb.Split, split_name: str, index: int, vocab: Vocabulary,
                 num_words: int, phrase: Sequence[int], show_ids: bool, note: str = "", key: str = "list") -> None:
    """One review in a bordered card: index, label, length, decoded text and optionally its raw ids.

    Long reviews show their first PREVIEW_WORDS words and keep the rest in an expander, so a page stays scannable.
    """
    ids = split.x[index]
    label = int(split.y[index])
    head, tail, tail_words, tail_match, clipped = explore_cache.review_text(
        _split=split, _vocab=vocab, name=info.name, fingerprint=info.fingerprint, split_name=split_name, index=index,
        num_words=num_words, phrase=tuple(phrase))
    with st.container(border=True):
        title_col, pin_col = st.columns([6, 1], vertical_alignment="center")
        title_col.markdown(f"#### Review #{index} &nbsp; {_badge(info, label)}")
        pin_col.button("Pin", icon="📌", key=f"pin_{key}_{index}", type="tertiary",  # a longer label was cut off
                       on_click=_pin, args=(vocab, ids, info.name),
                       help="Pin for training: the Train page re-scores pinned reviews after every epoch.")
        st.caption(f"{explore.word_count(ids):,} words ({len(ids):,} ids) · {clipped:,} of them become ? at "
                   f"num_words {_vocab_label(num_words)}" + (f" · {note}" if note else ""))
        # without ids the text goes straight into the card: one block less per review on every view
        text_col, ids_col = st.columns([3, 2]) if show_ids else (st, None)
        text_col.html(head)
        if tail:
            match = " (holds a search match)" if tail_match else ""
            with text_col.expander(f"… {tail_words:,} more words{match}"):
                st.html(tail)
        if ids_col is not None:
            with ids_col:
                st.caption("Raw ids as stored (id = rank + 3); the model gets 2 for ids ≥ num_words")
                st.code(" ".join(str(i) for i in ids.tolist()), language=None, wrap_lines=True)


# --- Reviews tab ------------------------------------------------------------------------------------------------


def _reviews_tab(info: DatasetInfo, corpus: imdb.Corpus, vocab: Vocabulary, split_name: str, label_name: str,
                 num_words: int, show_ids: bool) -> None:
    split = explore.split_of(corpus, split_name)
    search_col, jump_col, per_page_col = st.columns([4, 2, 1], vertical_alignment="bottom")
    text = search_col.text_input("Search for a word or phrase", key="q", placeholder="e.g. waste of time",
                                 on_change=_first_page, bind="query-params",
                                 help="Finds reviews holding these words one after the other.")
    # No min/max: an out-of-range number reaches the page, which then drops the old review and says why.
    review = jump_col.number_input("Jump to review #", value=None, step=1, key="review",
                                   placeholder=f"0 to {len(split) - 1:,}", bind="query-params")
    per_page = per_page_col.selectbox("Per page", PER_PAGE, index=0, key="per_page", on_change=_first_page)

    query = explore.parse_query(text, vocab)
    message = query.message()
    if message:
        st.warning(ui.escape(message), icon="🔤")
    phrase = query.ids if query.searchable else ()
    label = _label_id(info, label_name)
    if query.searchable:
        selection = explore_cache.selection(name=info.name, fingerprint=info.fingerprint, split=split_name,
                                            label=label, phrase=phrase)
    elif query.empty:
        selection = explore_cache.selection(name=info.name, fingerprint=info.fingerprint, split=split_name,
                                            label=label, phrase=())
    else:
        selection = explore.Selection(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    _legend(num_words)

    index = None
    if review is not None:  # out of range: the red message replaces the review it would have shown
        index = ui.attempt(lambda: explore.review_index(review, len(split), SPLIT_NAMES[split_name]))
    if index is not None:
        where = explore.position_in(selection.indices, index)
        note = ("not in the results below: the filters leave it out" if where is None
                else f"result {where + 1:,} of {len(selection):,}, on page {where // per_page + 1}")
        _show_review(info, split, split_name, index, vocab, num_words, phrase, show_ids, note=note, key="jump")
        st.button("Close this review", icon="✖️", on_click=_close_review, key="close_review")
        st.divider()

    kind = ui.escape(label_name) if label_name != "all" else ""
    scope = f"{kind} {SPLIT_NAMES[split_name]} reviews".strip()
    if query.searchable:
        times = f" ({selection.total_hits:,} times)" if selection.total_hits != len(selection) else ""
        summary = f"**{len(selection):,}** {scope} contain “{ui.escape(' '.join(query.words))}”{times}."
    elif message:
        summary = f"**0** {scope} match."
    else:
        summary = f"**{len(selection):,}** {scope}."
    pages = explore.page_count(len(selection), per_page)
    info_col, pager_col = st.columns([2, 3], vertical_alignment="center")
    _say_if_ignored("page", [str(n) for n in range(1, pages + 1)], f"the pages here are 1 to {pages:,}")
    with pager_col:
        page = st.pagination(pages, key="page", bind="query-params", max_visible_pages=9)
    shown = explore.page_slice(selection.indices, page, per_page)
    first = (min(page, pages) - 1) * per_page
    info_col.markdown(f"{summary} Showing {first + 1 if len(shown) else 0:,}–{first + len(shown):,}.")
    if not len(selection):
        st.info("No review matches these filters.", icon="🔎")
    for index in shown.tolist():
        _show_review(info, split, split_name, index, vocab, num_words, phrase, show_ids)


# --- Charts tab ------------------------------------------------------------------------------------------------


def _charts_tab(info: DatasetInfo, corpus: imdb.Corpus, vocab: Vocabulary, split_name: str, label_name: str,
                num_words: int) -> None:
    split = explore.split_of(corpus, split_name)
    where = SPLIT_NAMES[split_name]
    st.subheader(f"How long are the {where} reviews?")
    maxlen_param = PARAMS["maxlen"]
    fitted = NOTEBOOK_MAXLEN if _is_imdb(info) else hparams.fitted_maxlen(NOTEBOOK_MAXLEN, info.words_p95)
    start = min(int(maxlen_param.high), -(-fitted // MAXLEN_STEP) * MAXLEN_STEP)  # on the slider's steps
    maxlen = st.slider("maxlen (Sequence length)", int(maxlen_param.low), int(maxlen_param.high), start,
                       step=MAXLEN_STEP, key="maxlen", help=f"{maxlen_param.help} It starts at {fitted:,}, the length "
                       "the presets read on this data set.")
    lengths = split.x.lengths
    trunc = explore.truncation(lengths, maxlen)
    cap, width = explore.length_bins(lengths, maxlen)
    hist = explore.length_histogram(lengths, split.y, bin_width=width, cap=cap, num_classes=info.num_classes)
    st.plotly_chart(charts.lengths(_classes(info), hist, trunc), width="stretch", key="lengths_chart")
    per_label = {name: explore.truncation(lengths[split.y == k], maxlen) for k, name, _ in _classes(info)}
    st.markdown(
        f"**{trunc.sentence()}**: {trunc.truncated:,} of {trunc.total:,} {where} reviews have more than "
        f"{maxlen:,} ids and lose their first ones (`pad_sequences` truncates at the front); "
        f"{trunc.padded_share:.1%} are shorter and get zeros in front. "
        + " · ".join(f"{ui.escape(name)}: {t.share:.1%} truncated" for name, t in per_label.items())
        + f" · median length {int(np.median(lengths)):,} ids."
    )

    balance_col, words_col = st.columns([2, 3])
    with balance_col:
        st.subheader("Label balance")
        st.plotly_chart(charts.balance(_classes(info), _per_split(info, corpus)), width="stretch", key="balance_chart")
    with words_col:
        scope = f"{ui.escape(label_name)} {where} reviews" if label_name != "all" else f"{where} reviews"
        st.subheader(f"Most frequent words in the {scope}")
        n_col, skip_col = st.columns(2)
        n = n_col.slider("Words", 10, 50, 20, step=5, key="top_n")
        skip = skip_col.number_input("Hide the most common words (ranks 1 to …)", 0, 1000, 0, step=10, key="skip_top",
                                     help="Like Keras skip_top: leaves out 'the', 'and', 'a'… to show the telling words.")
        counts = _counts(info, split_name, _label_id(info, label_name))
        words = explore.top_words(counts, vocab, n, skip_top=int(skip))
        st.plotly_chart(charts.top_words(words, num_words), width="stretch", key="words_chart")
        st.caption(f"Blue: kept by num_words {_vocab_label(num_words)}; orange: would become ?.")


# --- Word index tab -------------------------------------------------------------------------------------------


def _word_index_tab(info: DatasetInfo, vocab: Vocabulary, split_name: str, num_words: int) -> None:
    counts = _counts(info, split_name, None)
    where = SPLIT_NAMES[split_name]
    st.markdown(f"The word index ranks **{vocab.size:,}** words by frequency (rank 1 = most frequent). "
                "The data stores each word as **id = rank + 3**, because ids 0, 1 and 2 mean padding, "
                "start (`>`) and unknown (`?`).")
    word_col, rank_col = st.columns(2)
    with word_col:
        st.subheader("Word → rank")
        text = st.text_input("Word", key="lookup_word", placeholder="e.g. brilliant")
        if text.strip():
            info = explore.lookup_word(vocab, text, counts)
            if info is None:
                st.warning(ui.escape(explore.lookup_problem(text)), icon="🔤")
            else:
                _show_info(info, num_words, where)
    with rank_col:
        st.subheader("Rank → word")
        rank = st.number_input("Rank", min_value=1, max_value=vocab.size, value=None, step=1, key="lookup_rank",
                               placeholder=f"1 to {vocab.size:,}")
        if rank is not None:
            info = explore.lookup_rank(vocab, int(rank), counts)
            if info is None:
                st.warning(f"No word has rank {rank}.", icon="🔤")
            else:
                _show_info(info, num_words, where)


def _show_info(info: explore.WordInfo, num_words: int, where: str) -> None:
    fate = ("is **kept** (its id is below num_words)" if info.kept_by(num_words)
            else f"**becomes ?** (its id {info.id:,} is not below num_words)")
    cols = st.columns(3)
    cols[0].metric("Word", info.word)
    cols[1].metric("Rank", f"{info.rank:,}")
    cols[2].metric("Id", f"{info.id:,}")
    st.markdown(f"Occurs **{info.count or 0:,}** times in the {where} reviews · at num_words "
                f"{_vocab_label(num_words)} it {fate}.")


# --- page ----------------------------------------------------------------------------------------------------


st.title("🔎 Explore the reviews")
dataset = dataset_picker.require(dataset_picker.choose("explore_dataset", on_change=_dataset_changed))
info, corpus, vocab = dataset.info, dataset.corpus, dataset.vocabulary
TOP_ID = info.max_id  # this run's data set: sizes above it read "all"
sizes = _sizes(info)
source = "the IMDB movie reviews" if _is_imdb(info) else info.source  # never a server path
st.caption(f"Data: {ui.escape(source)} · {info.train_size:,} training and {info.test_size:,} test reviews · "
           f"{info.num_classes} classes: {ui.escape(', '.join(info.class_names))}.")

_say_if_ignored("split", explore.SPLITS, "the splits are " + " and ".join(explore.SPLITS))
split_col, label_col, vocab_col, ids_col = st.columns([2, 3, 4, 2], vertical_alignment="bottom")
split_name = split_col.segmented_control("Split", explore.SPLITS, default="train", required=True, key="split",
                                         format_func=lambda s: SPLIT_NAMES[s], on_change=_first_page,
                                         bind="query-params")
filters = _filters(info)
_say_if_ignored("label", filters, "the labels are " + ", ".join(filters))
if st.session_state.get("label") not in filters:  # a link's label that this data set does not have
    st.session_state["label"] = "all"
label_name = label_col.segmented_control("Label", filters, default="all", required=True, key="label",
                                         format_func=ui.escape, on_change=_first_page, bind="query-params")
_vocabulary_size_from_url(sizes)
if st.session_state.get("num_words") not in sizes:
    st.session_state["num_words"] = _default_size(sizes)
num_words = vocab_col.select_slider("Vocabulary size (num_words)", sizes, key="num_words",
                                    format_func=_vocab_label, help=PARAMS["num_words"].help)
if num_words == _default_size(sizes):  # the address holds what differs from the default, as plain digits
    st.query_params.pop("num_words", None)
else:
    st.query_params["num_words"] = str(num_words)
st.session_state[VOCAB_LINKED] = st.query_params.get("num_words")
show_ids = ids_col.toggle("Show raw ids", key="show_ids", bind="query-params")
clip = explore.clipping(_counts(info, split_name, None), num_words)
origin = (f"Review #i is `x_{split_name}[i]` of `keras.datasets.imdb.load_data()`." if _is_imdb(info)
          else "Review #i is the i-th text of the split as imported (shuffled once).")
st.caption(f"At num_words {_vocab_label(num_words)}, {clip.share:.1%} of the words in the {SPLIT_NAMES[split_name]} "
           f"reviews become ? ({clip.clipped_words:,} of {clip.distinct_words:,} distinct words). {origin}")

reviews_tab, charts_tab, words_tab = st.tabs(list(TABS), key="tab", on_change="rerun", bind="query-params")
if reviews_tab.open:
    with reviews_tab:
        _reviews_tab(info, corpus, vocab, split_name, label_name, num_words, show_ids)
if charts_tab.open:
    with charts_tab:
        _charts_tab(info, corpus, vocab, split_name, label_name, num_words)
if words_tab.open:
    with words_tab:
        _word_index_tab(info, vocab, split_name, num_words)
