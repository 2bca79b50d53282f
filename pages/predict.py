"""Predict: type a review, get a score from a finished run, and see which words moved it."""
from __future__ import annotations

import time

import streamlit as st

from core import export, predict
from core.data import datasets
from core.classroom import permissions
from core.predict import Explanation
from core.verdict import Verdict
from core.run_record import RunRecord
from pages import compare_view, dataset_picker, present, run_link, score_html, ui

CUT = "_predict_cut_from"  # how long the text pasted last was, when it was cut to the limit
LINKED = "_predict_linked_run"  # the `run` URL value already applied to the model choice
MISSING = "has no saved model to score with (it is not on this server, or it ended before training finished)"
EXAMPLES = {
    "Plainly positive": "A wonderful film with a brilliant cast and a moving story. I loved every minute of it.",
    "Plainly negative": "Boring, badly acted and far too long. A complete waste of time.",
    "Negation": "This movie was not bad at all, and the ending was not boring either.",
    "Sarcasm": "Oh great, another two hours of my life I will never get back. What a masterpiece.",
    "Mixed": "The acting was superb, but the plot was a mess and the dialogue was painful.",
    "Faint praise": "It was fine, I guess. Nothing special, but not terrible.",
}


def _label(record: RunRecord) -> str:
    when = time.strftime("%d %b %H:%M", time.localtime(record.created_at))
    return (f"{record.title} · {permissions.owner_label(record)} · {dataset_picker.of_run(record)} · "
            f"test accuracy {ui.percent(record.test_accuracy)} · {when}")


def _run_from_link() -> None:
    """A `?run=ID` link (the Train page's, or a shared one) selects that run whatever data set the picker holds,
    and switches the picker to the run's data set; once per link value."""
    record = run_link.follow(LINKED, me, lambda: export.scorable(ui.store().usable()), MISSING,
                             " Showing the newest model instead.")
    if record is not None:
        st.session_state.predict_run = record.id


def _choose_run() -> RunRecord | None:
    _run_from_link()
    dataset = dataset_picker.choose("predict_dataset", everything=True)
    scorable = export.scorable(permissions.visible(me, ui.store().usable()))
    runs = [r for r in scorable if dataset in (None, dataset_picker.of_run(r))]
    if not runs:
        _nothing_to_score(dataset, scorable)
        return None
    by_id = {r.id: r for r in runs}
    if st.session_state.get("predict_run") not in by_id:
        st.session_state.predict_run = runs[0].id
    chosen = st.selectbox("Model", list(by_id), format_func=lambda i: _label(by_id[i]), key="predict_run",
                          help="Any run with a saved model; the most recent is chosen first.")
    run_link.show(LINKED, chosen)  # the address names the model, so it can be shared
    return by_id[chosen]


def _nothing_to_score(dataset: str | None, scorable: list[RunRecord]) -> None:
    """No model on the chosen data set: where there are models (a click switches to that data set), else how to
    get one."""
    train = {"dataset": dataset} if dataset not in (None, datasets.DEFAULT) else {}
    if not dataset_picker.offer_others(dataset, scorable, noun="model", verb="Score with", key="predict_switch",
                                       icon="💬", then=f", or train a model on {ui.escape(dataset)}"):
        st.info(f"No run has been trained on {ui.escape(dataset)} yet: train one on the Train page." if train else
                "There is no trained model yet. Train one first (the **fast** preset takes under a minute), then "
                "come back to score your own reviews.", icon="🧪")
    st.page_link("pages/train.py", label="Go to Train", icon="🏋️", query_params=train)


def _cut_to_limit() -> None:
    """Cut a paste over the limit to the limit, and remember to say so. (The text box's own `max_chars` dropped such
    a paste without a word, keeping the earlier text; the limit is kept here instead.)"""
    text = st.session_state.get("predict_text", "")
    st.session_state.pop(CUT, None)
    if len(text) > predict.MAX_TEXT_CHARS:
        st.session_state.predict_text = text[:predict.MAX_TEXT_CHARS]
        st.session_state[CUT] = len(text)


def _verdict(verdict: Verdict) -> None:
    """The label big, the score beside it, and the verdict's own sentence when the label alone would mislead.

    A model of 3+ classes shows the predicted class and its probability, then every class's probability."""
    st.html(score_html.verdict(verdict))
    if verdict.class_probabilities:
        st.html(score_html.probabilities(verdict.labels, verdict.probabilities, verdict.predicted))
    else:
        st.progress(verdict.score)
    if verdict.note:
        note = ui.escape(verdict.note[0].upper() + verdict.note[1:] + ".")
        (st.warning if verdict.label == "no known words" else st.info)(note, icon="🤔")


def _model_view(explanation: Explanation, scorer: predict.Scorer) -> None:
    vocabulary = scorer.bundle.vocabulary
    hp = scorer.hp
    ids = explanation.ids
    st.markdown("**The ids** (start token `>` = 1, unknown `?` = 2, word = its rank + 3)")
    tokens = " ".join(f"`{i}`" for i in ids[:400])
    st.markdown(tokens + (" …" if len(ids) > 400 else ""))
    st.markdown("**Decoded back**: " + ui.escape(vocabulary.decode(ids, hp.num_words)))
    for remark in explanation.model_input.remarks(vocabulary.id_to_word):
        (st.warning if remark.warning else st.caption)(ui.escape(remark.text))


# --- page --------------------------------------------------------------------------------------------------
projector = present.view()
st.title("💬 Score a review")
ui.require_store()
me = ui.visitor()
record = _choose_run()
if record is not None and dataset_picker.of_run(record) == datasets.DEFAULT:  # movie reviews fit IMDB's runs
    st.markdown("Try an example:")
    per_row = 3 if projector else len(EXAMPLES)  # the projector's large type cut six labels short ("Plainly posi…")
    cols = [col for _ in range(0, len(EXAMPLES), per_row) for col in st.columns(per_row)]
    for col, (name, text) in zip(cols, EXAMPLES.items()):
        if col.button(name, key=f"example_{name}", width="stretch", help=text):
            st.session_state.predict_text = text
            st.session_state.pop(CUT, None)
            st.session_state.predict_go = True
if record is not None:
    kind = "a movie review" if dataset_picker.of_run(record) == datasets.DEFAULT else "a text like the data set's"
    st.text_area("Review", key="predict_text", height=140, on_change=_cut_to_limit,
                 placeholder=f"Type or paste {kind} (up to {predict.MAX_TEXT_CHARS:,} characters, longer "
                             "than any IMDB review)…")
    if CUT in st.session_state:
        st.warning(f"The pasted text was {st.session_state[CUT]:,} characters long: it was cut to the first "
                   f"{predict.MAX_TEXT_CHARS:,}, the limit, and that is what is scored.", icon="✂️")
    if st.button("Score review", type="primary"):
        st.session_state.predict_go = True
    if st.session_state.get("predict_go"):
        text = st.session_state.get("predict_text", "")
        if not text.strip():
            st.warning("The review is empty: type a few words, or pick an example above.", icon="✍️")
        else:
            scorer = ui.attempt(lambda: predict.scorer(record.model_dir))
            explanation = ui.attempt(lambda: scorer.explain(text)) if scorer else None
            if explanation is not None:
                _verdict(explanation.verdict)
                st.subheader("Why")
                if explanation.unmeasured:
                    st.caption(f"Only the first {predict.MAX_EXPLAINED_WORDS:,} distinct words are measured (one "
                               f"extra scoring each); the other {explanation.unmeasured:,} are shown in grey, "
                               "dotted, without an effect.")
                st.html(score_html.words(explanation))
                bars = score_html.effects(explanation)
                if bars is not None:
                    st.html(bars)
                if not projector:  # the projector shows the verdict and the word effects only
                    with st.expander("What the model saw"):
                        _model_view(explanation, scorer)
if record is not None:  # several models side by side, on this review, the examples and edits of it
    compare_view.show(me, record, EXAMPLES if dataset_picker.of_run(record) == datasets.DEFAULT else {},
                      st.session_state.get("predict_text", ""))
