"""Predict's scored review as HTML for st.html: the verdict, every class's probability, each word tinted by its push,
and the words that moved the score most as bars.

Plain HTML rather than Plotly charts: it draws at once, and the first score in a new browser tab does not wait for the
browser to load Plotly (about 1 s of a classroom laptop's CPU). Every piece of text that is not the lab's own (the
review's words, class names of a user's data set) goes through `_text`, and every element through `_tag`.
"""
from __future__ import annotations

import html
from typing import Sequence

from core import predict
from core.data import imdb
from core.predict import Explanation
from core.verdict import Verdict
from pages import palette, ui

MUTED = "#868e96"
NOTE = "color:#555"
NOT_IN_INDEX = f"color:{MUTED};text-decoration:line-through"
OUTSIDE = f"border:2px dashed {MUTED}"
UNMEASURED = f"color:{MUTED};border-bottom:2px dotted #adb5bd"


def _text(text: object) -> str:
    """User text as HTML text: it can never open a tag or an attribute."""
    return ui.escape(text, "html")


def _tag(name: str, style: str, inner: str = "", title: str | None = None) -> str:
    """An element around `inner` (already HTML); its title is escaped here."""
    tip = f" title='{html.escape(title, quote=True)}'" if title is not None else ""
    return f"<{name}{tip} style='{style}'>{inner}</{name}>"


def verdict(found: Verdict) -> str:
    """The label big in its colour, the score or probability beside it."""
    labels = found.labels
    color = palette.VERDICT.get(found.label) or palette.class_color(labels, found.predicted)
    name = found.label.capitalize() if labels == imdb.LABELS else ui.class_name(found.label)
    if found.class_probabilities:
        detail = (f"probability <b>{found.score:.1%}</b> "
                  + _tag("span", NOTE, f"({found.margin:.1%} ahead of the next class)"))
    else:
        zero, one = (_text(ui.class_name(label)) for label in labels)
        detail = (f"score <b>{found.score:.3f}</b> "
                  + _tag("span", NOTE, f"(0 = {zero}, 1 = {one}; {found.margin:.3f} from the 0.5 line)"))
    badge = _tag("span", f"background:{color};color:white;font-size:2rem;font-weight:700;padding:.3rem 1.1rem;"
                 "border-radius:.6rem", _text(name))
    return _tag("div", "display:flex;align-items:center;gap:1.2rem;margin:.4rem 0 1rem",
                badge + _tag("span", "font-size:1.6rem", detail))


def probabilities(labels: Sequence[str], values: Sequence[float], predicted: int) -> str:
    """Every class's probability as a bar, most probable first, the predicted class in bold."""
    rows = []
    for k in sorted(range(len(labels)), key=lambda k: -values[k]):
        bar = _tag("div", f"height:1.3rem;width:{100 * values[k]:.1f}%;background:{palette.class_color(labels, k)};"
                   "border-radius:.2rem")
        rows.append(_tag(
            "div", "display:grid;grid-template-columns:12rem 1fr 4.5rem;align-items:center;gap:0 .5rem;"
            f"font-weight:{'700' if k == predicted else '400'}",
            _tag("span", "text-align:right;overflow:hidden;text-overflow:ellipsis", _text(labels[k]))
            + _tag("div", "background:#eef2f8;border-radius:.2rem", bar)
            + _tag("span", "font-variant-numeric:tabular-nums", f"{values[k]:.1%}")))
    return _tag("div", "font-size:1.1rem;line-height:1.8rem;margin:.4rem 0 1rem",
                _tag("div", "font-weight:700;margin-bottom:.3rem", "Probability of each class") + "".join(rows))


def words(explanation: Explanation) -> str:
    """Each word tinted by how much it pushes the score: green up, red down; unknown words outlined."""
    scale = max((abs(w.effect) for w in explanation.words if w.effect is not None), default=0.0) or 1.0
    parts = []
    for w in explanation.words:
        text = _text(w.text)
        if w.status == "not in word index":
            parts.append(_tag("span", f"{NOT_IN_INDEX};padding:0 .15rem", text,
                              "not in the word index: dropped, as Keras did"))
        elif w.status == "outside vocabulary":
            parts.append(_tag("span", f"{OUTSIDE};border-radius:.3rem;padding:0 .2rem", f"{text}&nbsp;<b>?</b>",
                              "outside this model's vocabulary: the model sees ?"))
        elif w.status == "not measured":
            parts.append(_tag("span", UNMEASURED, text,
                              f"not measured: only the first {predict.MAX_EXPLAINED_WORDS} distinct words are"))
        else:
            effect = w.effect or 0.0
            tint = palette.rgba(palette.signed(effect), min(abs(effect) / scale, 1.0) * 0.75)
            parts.append(_tag("span", f"background:{tint};border-radius:.3rem;padding:0 .2rem", text,
                              f"{effect:+.3f}"))
    up, down = _directions(explanation.verdict)
    keys = [_tag("span", f"background:{palette.rgba(palette.POSITIVE, 0.6)};padding:0 .3rem", up),
            _tag("span", f"background:{palette.rgba(palette.NEGATIVE, 0.6)};padding:0 .3rem", down),
            _tag("span", f"{OUTSIDE};padding:0 .3rem", "word ?") + " outside the model's vocabulary",
            _tag("span", NOT_IN_INDEX, "word") + " not in the word index"]
    if explanation.unmeasured:
        keys.append(_tag("span", UNMEASURED, "word") + " not measured")
    return (_tag("div", "font-size:1.35rem;line-height:2.3rem", " ".join(parts))
            + _tag("div", "font-size:.95rem;color:#555;margin-top:.6rem", " · ".join(keys)))


def _directions(found: Verdict) -> tuple[str, str]:
    """What a word's green and red mean: towards label 1 or label 0, or for 3+ classes towards or away from the
    predicted class (the one the effects are measured on)."""
    labels = [_text(ui.class_name(label)) for label in found.labels]
    if found.class_probabilities:
        return f"pushes towards {labels[found.predicted]}", f"pushes away from {labels[found.predicted]}"
    return f"pushes towards {labels[1]}", f"pushes towards {labels[0]}"


def effects(explanation: Explanation, top: int = 12) -> str | None:
    """The words that moved the score most, as bars either side of zero, largest first; None when none was
    measured."""
    measured = {w.text: w.effect for w in explanation.words if w.effect is not None}
    if not measured:
        return None
    ranked = sorted(measured.items(), key=lambda kv: abs(kv[1]), reverse=True)[:top]
    scale = max(abs(v) for _, v in ranked) or 1.0
    rows = []
    for word, effect in ranked:
        color = palette.signed(effect)
        bar = _tag("div", f"height:1.3rem;width:{abs(effect) / scale * 100:.1f}%;background:{color};"
                   "border-radius:.2rem")
        left, right = ("", bar) if effect > 0 else (bar, "")
        rows.append(_tag(
            "div", "display:grid;grid-template-columns:10rem 1fr 2px 1fr 5.5rem;align-items:center;gap:0 .4rem",
            _tag("span", "text-align:right;overflow:hidden;text-overflow:ellipsis", _text(word))
            + _tag("div", "display:flex;justify-content:flex-end", left)
            + _tag("div", f"background:{palette.GREY};height:1.7rem") + _tag("div", "", right)
            + _tag("span", f"color:{color};font-variant-numeric:tabular-nums", f"{effect:+.4f}")))
    title = (f"Probability of {_text(explanation.verdict.leaning)} with the word minus without it"
             if explanation.verdict.class_probabilities else "Score with the word minus score without it")
    return _tag("div", "font-size:1.1rem;line-height:1.7rem;margin:.4rem 0 1rem",
                _tag("div", "font-weight:700;margin-bottom:.3rem", title) + "".join(rows))
