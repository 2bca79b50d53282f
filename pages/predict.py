"""Predict: type a review, get a score from a finished run, and see which words moved it."""
from __future__ import annotations

import time

import streamlit as st

from core import evaluation, export, predict
from core.data import datasets
from core.classroom import permissions
from core.errors import LabError
from core.predict import Explanation
from core.verdict import Verdict
from core.run_record import RunRecord
from pages import class_results, compare_view, dataset_picker, present, ui

VERDICT_COLORS = {"positive": "#2b8a3e", "negative": "#c92a2a", "unsure": "#e67700", "no known words": "#495057"}
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
    wanted = st.query_params.get("run")
    if wanted is None or wanted == st.session_state.get(LINKED):
        return
    st.session_state[LINKED] = wanted
    try:
        record = export.linked_run(wanted, export.scorable(ui.store().usable()), MISSING)
        permissions.check_view(me, record)
    except LabError as exc:
        st.warning(f"{ui.escape(exc)} Showing the newest model instead.", icon="🔗")
        return
    st.session_state.predict_run = record.id
    dataset_picker.follow(dataset_picker.of_run(record))


def _choose_run() -> RunRecord | None:
    _run_from_link()
    dataset = dataset_picker.choose("predict_dataset", everything=True)
    runs = [r for r in export.scorable(permissions.visible(me, ui.store().usable())) if dataset in (None, dataset_picker.of_run(r))]
    if not runs and dataset not in (None, datasets.DEFAULT):
        st.info(f"No run has been trained on {ui.escape(dataset)} yet: train one on the Train page.", icon="🧪")
        st.page_link("pages/train.py", label="Go to Train", icon="🏋️", query_params={"dataset": dataset})
        return None
    if not runs:
        st.info("There is no trained model yet. Train one first (the **fast** preset takes under a minute), "
                "then come back to score your own reviews.", icon="🧪")
        st.page_link("pages/train.py", label="Go to Train", icon="🏋️")
        return None
    by_id = {r.id: r for r in runs}
    if st.session_state.get("predict_run") not in by_id:
        st.session_state.predict_run = runs[0].id
    chosen = st.selectbox("Model", list(by_id), format_func=lambda i: _label(by_id[i]), key="predict_run",
                          help="Any run with a saved model; the most recent is chosen first.")
    st.query_params["run"] = str(chosen)  # the address names the model, so it can be shared
    st.session_state[LINKED] = str(chosen)
    return by_id[chosen]


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
    labels = verdict.labels
    color = VERDICT_COLORS.get(verdict.label) or class_results.color(labels, verdict.predicted)
    name = verdict.label.capitalize() if labels == evaluation.IMDB_LABELS else ui.class_name(verdict.label)
    if verdict.class_probabilities:
        detail = (f"probability <b>{verdict.score:.1%}</b> <span style='color:#555'>({verdict.margin:.1%} ahead of "
                  "the next class)</span>")
    else:
        zero, one = (ui.escape(ui.class_name(label), "html") for label in labels)
        detail = (f"score <b>{verdict.score:.3f}</b> <span style='color:#555'>(0 = {zero}, 1 = {one}; "
                  f"{verdict.margin:.3f} from the 0.5 line)</span>")
    st.html(
        f"<div style='display:flex;align-items:center;gap:1.2rem;margin:.4rem 0 1rem'>"
        f"<span style='background:{color};color:white;font-size:2rem;font-weight:700;"
        f"padding:.3rem 1.1rem;border-radius:.6rem'>{ui.escape(name, 'html')}</span>"
        f"<span style='font-size:1.6rem'>{detail}</span></div>"
    )
    if verdict.class_probabilities:
        st.html(class_results.probabilities_html(labels, verdict.probabilities, verdict.predicted))
    else:
        st.progress(verdict.score)
    if verdict.note:
        note = ui.escape(verdict.note[0].upper() + verdict.note[1:] + ".")
        (st.warning if verdict.label == "no known words" else st.info)(note, icon="🤔")


def _word_html(explanation: Explanation) -> str:
    """Each word tinted by how much it pushes the score: green up, red down; unknown words outlined."""
    scale = max((abs(w.effect) for w in explanation.words if w.effect is not None), default=0.0) or 1.0
    parts = []
    for w in explanation.words:
        text = ui.escape(w.text, "html")
        if w.status == "not in word index":
            parts.append(f"<span title='not in the word index: dropped, as Keras did' style='color:#868e96;"
                         f"text-decoration:line-through;padding:0 .15rem'>{text}</span>")
            continue
        if w.status == "outside vocabulary":
            parts.append(f"<span title='outside this model&#39;s vocabulary: the model sees ?' style='border:2px dashed "
                         f"#868e96;border-radius:.3rem;padding:0 .2rem'>{text}&nbsp;<b>?</b></span>")
            continue
        if w.status == "not measured":
            parts.append(f"<span title='not measured: only the first {predict.MAX_EXPLAINED_WORDS} distinct words "
                         f"are' style='color:#868e96;border-bottom:2px dotted #adb5bd'>{text}</span>")
            continue
        effect = w.effect or 0.0
        alpha = min(abs(effect) / scale, 1.0) * 0.75
        rgb = "43,138,62" if effect > 0 else "201,42,42"
        parts.append(f"<span title='{effect:+.3f}' style='background:rgba({rgb},{alpha:.2f});border-radius:.3rem;"
                     f"padding:0 .2rem'>{text}</span>")
    up, down = _directions(explanation.verdict)
    legend = ("<div style='font-size:.95rem;color:#555;margin-top:.6rem'>"
              f"<span style='background:rgba(43,138,62,.6);padding:0 .3rem'>{up}</span> · "
              f"<span style='background:rgba(201,42,42,.6);padding:0 .3rem'>{down}</span> · "
              "<span style='border:2px dashed #868e96;padding:0 .3rem'>word ?</span> outside the model's vocabulary · "
              "<span style='color:#868e96;text-decoration:line-through'>word</span> not in the word index"
              + (" · <span style='color:#868e96;border-bottom:2px dotted #adb5bd'>word</span> not measured"
                 if explanation.unmeasured else "") + "</div>")
    return f"<div style='font-size:1.35rem;line-height:2.3rem'>{' '.join(parts)}</div>{legend}"


def _directions(verdict: Verdict) -> tuple[str, str]:
    """What a word's green and red mean: towards label 1 or label 0, or for 3+ classes towards or away from the
    predicted class (the one the effects are measured on)."""
    labels = [ui.escape(ui.class_name(label), "html") for label in verdict.labels]
    if verdict.class_probabilities:
        return f"pushes towards {labels[verdict.predicted]}", f"pushes away from {labels[verdict.predicted]}"
    return f"pushes towards {labels[1]}", f"pushes towards {labels[0]}"


def _effects_html(explanation: Explanation, top: int = 12) -> str | None:
    """The words that moved the score most, as bars either side of zero, largest first.

    Plain HTML rather than a Plotly chart: it draws at once, and the first score in a new browser tab no longer
    waits for the browser to load Plotly (about 1 s of a classroom laptop's CPU).
    """
    effects = {w.text: w.effect for w in explanation.words if w.effect is not None}
    if not effects:
        return None
    ranked = sorted(effects.items(), key=lambda kv: abs(kv[1]), reverse=True)[:top]
    scale = max(abs(v) for _, v in ranked) or 1.0
    rows = []
    for word, effect in ranked:
        width = abs(effect) / scale * 100
        color = "#2b8a3e" if effect > 0 else "#c92a2a"
        bar = f"<div style='height:1.3rem;width:{width:.1f}%;background:{color};border-radius:.2rem'></div>"
        left, right = ("", bar) if effect > 0 else (bar, "")
        rows.append(
            f"<div style='display:grid;grid-template-columns:10rem 1fr 2px 1fr 5.5rem;align-items:center;gap:0 .4rem'>"
            f"<span style='text-align:right;overflow:hidden;text-overflow:ellipsis'>{ui.escape(word, 'html')}</span>"
            f"<div style='display:flex;justify-content:flex-end'>{left}</div><div style='background:#495057;"
            f"height:1.7rem'></div><div>{right}</div><span style='color:{color};font-variant-numeric:tabular-nums'>"
            f"{effect:+.4f}</span></div>")
    measured = (f"Probability of {ui.escape(explanation.verdict.leaning, 'html')} with the word minus without it"
                if explanation.verdict.class_probabilities else "Score with the word minus score without it")
    return ("<div style='font-size:1.1rem;line-height:1.7rem;margin:.4rem 0 1rem'><div style='font-weight:700;"
            f"margin-bottom:.3rem'>{measured}</div>" + "".join(rows) + "</div>")


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
                st.html(_word_html(explanation))
                bars = _effects_html(explanation)
                if bars is not None:
                    st.html(bars)
                if not projector:  # the projector shows the verdict and the word effects only
                    with st.expander("What the model saw"):
                        _model_view(explanation, scorer)
if record is not None:  # several models side by side, on this review, the examples and edits of it
    compare_view.show(me, record, EXAMPLES if dataset_picker.of_run(record) == datasets.DEFAULT else {},
                      st.session_state.get("predict_text", ""))
