"""Word map: a 2-D projection of the word vectors a run learned, coloured by each word's effect, with search and
the nearest words of a searched word."""
from __future__ import annotations

import streamlit as st

from core import export, word_map
from core.classroom import permissions
from core.run_record import RunRecord
from pages import charts, dataset_picker, ui


def _choose(me) -> RunRecord | None:
    runs = export.scorable(permissions.visible(me, ui.store().usable()))
    if not runs:
        st.info("There is no trained model yet: train one first, then come back to see what it learned.", icon="🧪")
        st.page_link("pages/train.py", label="Go to Train", icon="🏋️")
        return None
    by_id = {r.id: r for r in runs}
    chosen = st.selectbox("Model", list(by_id), key="map_run",
                          format_func=lambda i: f"{by_id[i].title} · {dataset_picker.of_run(by_id[i])} · test "
                                                f"accuracy {ui.percent(by_id[i].test_accuracy)}")
    return by_id[chosen]


# --- page -----------------------------------------------------------------------------------------------------
st.title("🗺️ Word map")
st.caption("Where a model put its most frequent words: one point per word, from the model's own first layer, "
           "placed by a 2-D projection and coloured by the word's effect on the score (the score of a review "
           "holding only that word, minus that of an empty review; with three or more classes, the rise of the "
           "class it pushes towards, in that class's colour).")
ui.require_store()
me = ui.visitor()
record = _choose(me)
if record is not None:
    c1, c2, c3 = st.columns([2, 1, 2])
    method = c2.radio("Projection", word_map.METHODS, key="map_method", horizontal=True,
                      help="PCA is exact and quick; t-SNE keeps neighbourhoods better but takes several seconds, "
                           f"for at most {word_map.MAX_TSNE_WORDS:,} words.")
    most = word_map.MAX_TSNE_WORDS if method == "t-SNE" else word_map.MAX_WORDS
    words = c1.slider("Most frequent words", 100, most, min(2_000, most), step=100, key="map_words")
    searched = c3.text_input("Search a word", key="map_search", max_chars=40, placeholder="e.g. awful").strip().lower()
    with st.spinner(f"Projecting {words:,} words with {method}…"):
        found = ui.attempt(lambda: word_map.shared(record.model_dir, words, method))
    if found is not None:
        neighbours = found.neighbours(searched) if searched else None
        if searched and neighbours is None:
            st.warning(f"“{ui.escape(searched)}” is not among the {len(found.words):,} words on this map.", icon="🔎")
        near = [w for w, _ in neighbours or []]
        st.plotly_chart(charts.word_map(found, searched or None, near), width="stretch", key="map_chart")
        if neighbours:
            st.markdown(f"**Nearest words to “{ui.escape(searched)}”** (cosine similarity of the model's own "
                        f"{found.vectors.shape[1]}-dimensional rows)")
            st.dataframe(ui.table([{"Word": w, "Similarity": round(s, 3)} for w, s in neighbours]), hide_index=True,
                         key="map_neighbours")
        st.caption(f"Rows: {ui.escape(found.source)}.")
        st.info(found.caveat, icon="ℹ️")
