"""Data sets: import labelled text (CSV, TSV, or a .tar.gz of train/<label>/*.txt folders) and manage the imported ones.

Reading, detection, checks and storage are core.data.datasets and core.data.text_import; this page uploads, previews with
overridable choices, imports, and lists. The upload is written to a temporary folder in the lab's home (keeping the
file's own name, which the data set's source and default name come from) and deleted after each read. A session
holds one pending upload in the server's memory (a new one replaces it), released once imported.
"""
from __future__ import annotations

import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd
import streamlit as st

from core import config
from core.data import datasets, text_import, text_source
from core.classroom import guarded, permissions
from core.errors import DatasetError, LabError
from core.classroom.people import Actor
from core.run_record import ACTIVE
from core.data.import_report import ImportReport
from core.data.text_source import DELIMITERS, Preview, ReadOptions
from pages import confirm, dataset_picker, server_limits, ui

UPLOADS = ".uploads"  # under SENTIMENT_LAB_HOME; every folder in it is one upload being read
PREVIEWS = "_datasets_previews"  # (file id, options) -> Preview or error text, for this session's upload
REPORT = "_datasets_report"  # the last import's outcome, shown once
FLOW = confirm.Flow("_datasets")  # the data set whose removal waits for a yes; what the last change did
IMPORTED = "_ds_imported"  # the file id of the upload imported last: its Import button gives way to a note
DETECTED = None


def _upload_limit_mb() -> int:
    return max(1, -(-config.max_upload_bytes() // 2**20))


@contextmanager
def _saved(upload) -> Iterator[Path]:
    """The upload as a file of the lab's own, removed (with its folder) afterwards whatever happens."""
    folder = config.lab_home() / UPLOADS / uuid.uuid4().hex
    try:
        path = folder / text_source.file_name(upload.name)
        try:
            folder.mkdir(parents=True)
            path.write_bytes(upload.getbuffer())
        except OSError as exc:
            raise DatasetError(f"The upload cannot be read: the lab's folder is not writable ({exc.strerror or exc}). "
                               f"Point {config.HOME_ENV} at a writable folder, or free some space.") from None
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _options() -> ReadOptions:
    state = st.session_state
    return ReadOptions(state.get("ds_delimiter"), state.get("ds_header"), state.get("ds_text_column"),
                       state.get("ds_label_column"))


def _preview(upload, options: ReadOptions) -> Preview | str:
    """The preview of this upload with these choices (read once per choice), or the core's message."""
    cache = st.session_state.setdefault(PREVIEWS, {})
    key = (upload.file_id, options)
    if key not in cache:
        cache.clear()  # one upload at a time: keep only its previews
        try:
            text_source.check_size(upload.size, text_source.file_name(upload.name))
            with st.spinner("Reading the file…"), _saved(upload) as path:
                cache[key] = text_import.preview(path, options, rows=8)
        except LabError as exc:
            cache[key] = str(exc)
    return cache[key]


def _column_choice(label: str, key: str, columns: tuple[str, ...], detected: str | None) -> None:
    """A column picker by position (names change when the header choice does); "detected" leaves it to the core."""
    options = [DETECTED] + [str(n) for n in range(1, len(columns) + 1)]
    if st.session_state.get(key) not in options:
        st.session_state[key] = DETECTED

    def name(value: str | None) -> str:
        return f"detected ({detected})" if value is None else f"{value}: {columns[int(value) - 1]}"

    st.selectbox(label, options, key=key, format_func=name)


def _choices(layout: text_source.Layout) -> None:
    """The detected layout, each part overridable."""
    if layout.kind != "table":
        st.caption("Folders name their classes by folder (train/<label>/*.txt): there is nothing to choose.")
        return
    delim, header, text_col, label_col = st.columns(4)
    with delim:
        detected = DELIMITERS.get(layout.delimiter, repr(layout.delimiter))
        st.selectbox("Delimiter", [DETECTED, *DELIMITERS], key="ds_delimiter",
                     format_func=lambda d: f"detected ({detected})" if d is None else DELIMITERS[d])
    with header:
        st.selectbox("First row", [DETECTED, True, False], key="ds_header",
                     format_func=lambda h: (f"detected ({'names the columns' if layout.header else 'is data'})"
                                            if h is None else ("names the columns" if h else "is data")))
    with text_col:
        _column_choice("Text column", "ds_text_column", layout.columns, layout.text_column)
    with label_col:
        _column_choice("Label column", "ds_label_column", layout.columns, layout.label_column)


def _rows(n: int) -> str:
    return f"{n:,} row{'' if n == 1 else 's'}"


def _unique(names: tuple[str, ...]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def _show_preview(preview: Preview) -> None:
    layout = preview.layout
    st.markdown(f"**{preview.rows_read:,} labelled rows** read as {ui.escape(layout.describe())}, "
                f"{ui.escape(layout.encoding)}" + (f"; text column **{ui.escape(layout.text_column)}**, label "
                                                   f"column **{ui.escape(layout.label_column)}**"
                                                   if layout.kind == "table" else "") + ".")
    columns = _unique(layout.columns) if layout.columns else None
    st.dataframe(pd.DataFrame(preview.rows, columns=columns), hide_index=True, width="stretch")
    counts = pd.DataFrame({"class": list(preview.class_counts), "rows": list(preview.class_counts.values())})
    left, right = st.columns([2, 3])
    left.markdown(f"**{len(preview.class_counts)} classes**")
    left.dataframe(counts, hide_index=True, width="stretch")
    with right:
        dropped = preview.dropped_empty_text + preview.dropped_empty_label
        if dropped:
            st.caption(f"{_rows(preview.dropped_empty_text)} without text and {_rows(preview.dropped_empty_label)} "
                       "without a label will be left out.")
        for note in layout.notes:
            st.caption(ui.escape(note))
        if preview.has_test_split:
            st.caption("The source has its own test split (test/): it is kept as the test set.")


def _import(upload, name: str, options: ReadOptions, test_size: float, replace: bool) -> None:
    try:
        with st.spinner("Importing…"), _saved(upload) as path:
            imported = datasets.add(path, name, options, test_size, by=guarded.importer(ui.actor()),
                                    replace=replace)
    except LabError as exc:
        st.error(ui.escape(exc), icon="⚠️")
        return
    server_limits.release(upload.file_id)  # imported: the server's memory need not hold it any longer
    st.session_state[REPORT] = (imported.info, imported.report)


def _replace_choice(name: str, me: Actor) -> bool:
    """When the name is taken (perhaps by another browser's import a moment ago): a "replace" box for whoever may
    replace that data set, a note naming its owner for anyone else."""
    if name not in dataset_picker.available():
        return False
    owner = ui.attempt(lambda: datasets.ownership(name))
    if owner is None:
        return False
    if not permissions.can_change(me, owner):
        st.caption(f"A data set named {ui.escape(name)} was imported by {ui.escape(permissions.owner_label(owner))}: choose another "
                   "name.")
        return False
    return st.checkbox(f"Replace the data set {ui.escape(name)} (runs trained on it keep scoring)", key="ds_replace",
                       help="Only whoever imported it, or the teacher, can replace it.")


def _show_report(info: datasets.DatasetInfo, report: ImportReport) -> None:
    st.success(f"Imported **{ui.escape(info.name)}**: {info.num_classes} classes, {info.train_size:,} training and "
               f"{info.test_size:,} test texts, {info.vocab_size:,} words.", icon="✅")
    if report.too_little:
        st.warning(ui.escape(report.too_little), icon="🌱")
    if report.class_counts:
        table = pd.DataFrame({"class": list(info.class_names),
                              "training": [report.train_count(label) for label in info.labels],
                              "test": [report.test_count(label) for label in info.labels]})
        st.dataframe(table, hide_index=True)
    lines = [f"Read as {ui.escape(report.encoding)}."] if report.encoding else []
    if report.dropped_empty_text:
        lines.append(f"{_rows(report.dropped_empty_text)} without text left out.")
    if report.dropped_empty_label:
        lines.append(f"{_rows(report.dropped_empty_label)} without a label left out.")
    lines += [ui.escape(n) for n in report.notes]
    if report.split.kind == "stratified" and report.split.test_size is not None:
        lines.append(f"{report.split.test_size:.0%} of each class was held out for testing.")
    for line in lines:
        st.caption(line)
    st.page_link("pages/explore.py", label=f"Explore {info.name}", icon="🔎", query_params={"dataset": info.name})


# --- the list and removal ----------------------------------------------------------------------------------------
def _remove(name: str) -> Callable[[], str]:
    def remove() -> str:
        active = [r.id for r in ui.store().list(statuses=ACTIVE, dataset=name)]
        datasets.remove(name, by=guarded.importer(ui.actor()), active_runs=active)
        dataset_picker.forget()
        return f"Removed the data set {name}."

    return remove


def _confirm(name: str) -> None:
    runs = dataset_picker.runs_using(name)
    used = (f" {runs} run{'s were' if runs != 1 else ' was'} trained on it: {'they keep' if runs != 1 else 'it keeps'} "
            "scoring on Predict (a run keeps its own vocabulary), but cannot be trained again on this data set."
            if runs else " No run was trained on it.")
    FLOW.confirm(f"Remove the data set **{ui.escape(name)}**? Its stored texts are deleted.{used}", "🗑️",
                 "Yes, remove it", ("ds_remove_yes", "ds_remove_no"), _remove(name))


def _listing(me: Actor) -> None:
    st.subheader("Data sets in this lab")
    FLOW.show()
    rows, damaged, owners = [], [], {}
    for name in dataset_picker.available():
        try:
            info = datasets.info(name)
            owners[name] = datasets.ownership(name)
        except LabError as exc:
            damaged.append((name, str(exc)))
            owners[name] = datasets.Ownership()  # a damaged data set is the teacher's to remove
            continue
        source = "built in: the IMDB movie reviews" if name == datasets.DEFAULT else info.source  # no server paths
        rows.append({"name": info.name, "source": source, "classes": ", ".join(info.class_names),
                     "training": info.train_size, "test": info.test_size, "words": info.vocab_size,
                     "imported by": "built in" if name == datasets.DEFAULT else permissions.owner_label(owners[name])})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    for name, message in damaged:
        st.error(ui.escape(message), icon="⚠️")
    stored = [r["name"] for r in rows if r["name"] != datasets.DEFAULT] + [n for n, _ in damaged]
    if not stored:
        st.caption("No data set has been imported yet.")
        return
    imported = [name for name in stored if permissions.can_change(me, owners[name])]
    if not imported:
        st.caption("Only whoever imported a data set, or the teacher, can remove it.")
        return
    pick, button = st.columns([3, 1], vertical_alignment="bottom")
    chosen = pick.selectbox("Remove a data set", imported, key="ds_remove_pick")
    button.button("Remove…", key="ds_remove", on_click=FLOW.ask, args=(chosen,))
    if FLOW.asked() in imported:
        _confirm(FLOW.asked())
    _naming([name for name in imported if name not in dict(damaged)])


def _naming(imported: list[str]) -> None:
    """Names for classes whose labels are numbers or codes, for the data sets this visitor may change; every page
    then shows the names. The data set's content and fingerprint stay as they are, so runs trained on it before are
    unaffected."""
    if not imported:
        return
    st.markdown("**Name the classes**")
    chosen = st.selectbox("Data set whose classes to name", imported, key="ds_names_pick")
    info = ui.attempt(lambda: datasets.info(chosen))
    if info is None:
        return
    with st.form(f"ds_names_{chosen}", border=False):
        columns = st.columns(min(4, info.num_classes))
        given = {label: columns[i % len(columns)].text_input(
                     f"Label {ui.escape(label[:40])}", value=name, max_chars=datasets.MAX_CLASS_NAME,
                     key=f"ds_class_{chosen}_{i}")
                 for i, (label, name) in enumerate(zip(info.labels, info.class_names))}
        if st.form_submit_button("Save the class names"):
            try:
                named = datasets.name_classes(chosen, given, by=guarded.importer(ui.actor()))
            except LabError as exc:
                st.error(ui.escape(exc), icon="⚠️")
                return
            dataset_picker.forget()
            FLOW.say("success", f"The classes of {chosen} are now: {', '.join(named.class_names)}.")
            st.rerun()


# --- page --------------------------------------------------------------------------------------------------
st.title("📚 Data sets")
st.markdown("Import labelled text of your own, with **2 to 20 classes**: a CSV or TSV file (one text and one label "
            "per row), or a `.tar.gz` of `train/<label>/*.txt` and `test/<label>/*.txt` files. Then pick it on "
            "Explore, Train, Predict and Runs.")
me = ui.visitor()
upload = None
if ui.attempt(lambda: permissions.may_import(me)):
    # No `type=`: Streamlit checks a name against it before the page runs, and a name it refuses (a NUL in it)
    # would break the session until a reload. The core reads the content, whatever the name says.
    upload = st.file_uploader(f"Labelled text: .csv, .tsv, .txt, .tar.gz (up to {_upload_limit_mb():,} MB)",
                              key="ds_upload", max_upload_size=_upload_limit_mb())
else:
    st.info("The teacher has turned off importing data sets for students: every data set below can be used on "
            "Explore, Train, Predict and Runs.", icon="🔒")
if REPORT in st.session_state:
    _show_report(*st.session_state.pop(REPORT))
if upload is not None:
    if st.session_state.get("_ds_file") != upload.file_id:  # a new file: detection starts afresh
        st.session_state["_ds_file"] = upload.file_id
        for key in ("ds_delimiter", "ds_header", "ds_text_column", "ds_label_column", "_ds_layout"):
            st.session_state.pop(key, None)
    st.subheader("Preview")
    found = _preview(upload, _options())
    if isinstance(found, str):
        st.error(ui.escape(found), icon="⚠️")
        if _options() != ReadOptions():
            st.caption("Change the choices below, or go back to what was detected.")
    if not isinstance(found, str) or _options() != ReadOptions():
        layout = found.layout if not isinstance(found, str) else None
        if layout is not None:
            st.session_state["_ds_layout"] = layout
        last = st.session_state.get("_ds_layout")
        if last is not None:
            _choices(last)
    if not isinstance(found, str):
        _show_preview(found)
        name_col, size_col = st.columns(2)
        suggested = datasets.default_name(Path(text_source.file_name(upload.name)))
        name = name_col.text_input("Name", value=suggested, key=f"ds_name_{upload.file_id}",
                                   help="Letters, digits, - and _; it names the data set on every page.")
        test_size = size_col.slider("Test size", 0.05, 0.5, datasets.TEST_SIZE, step=0.05, format="%.2f",
                                    key="ds_test_size", disabled=found.has_test_split,
                                    help="The share of each class held out for testing (a test/ folder is kept "
                                         "as it is instead).")
        if st.session_state.get(IMPORTED) == upload.file_id:  # a second click only said "already exists"
            st.caption("This file is imported: it is listed below. Pick another file to import more.")
        else:
            replace = _replace_choice(name.strip(), me)
            if st.button("Import", type="primary", key="ds_import"):
                _import(upload, name.strip(), _options(), test_size, replace)
                if REPORT in st.session_state:
                    st.session_state[IMPORTED] = upload.file_id
                    st.rerun()
_listing(me)
