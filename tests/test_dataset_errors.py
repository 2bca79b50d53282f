"""Bad input to `python -m core datasets add`: one specific `error:` line, exit 2, and nothing stored.

The files are cut from the real UCI sentences and airline tweets, so detection meets real text.
"""
from __future__ import annotations

import csv
import gzip
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from test_cli import assert_one_line_error, core_cli, json_lines


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def env(cli_env, home) -> dict[str, str]:
    return {**cli_env, "SENTIMENT_LAB_HOME": str(home)}


@pytest.fixture(scope="module")
def sentences(data_dir) -> list[tuple[str, str]]:
    """The UCI amazon sentences as (text, label), read as plain tab-separated lines."""
    lines = (data_dir / "text" / "amazon_cells_labelled.txt").read_text(encoding="utf-8").splitlines()
    return [tuple(line.rsplit("\t", 1)) for line in lines]


@pytest.fixture(scope="module")
def tweets(data_dir) -> list[str]:
    with open(data_dir / "text" / "Tweets.csv", encoding="utf-8", newline="") as f:
        return [row["text"] for row in csv.DictReader(f)]


def write_csv(path: Path, rows: list[tuple[str, ...]], header: tuple[str, ...] | None = ("text", "label")) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        if header:
            writer.writerow(header)
        writer.writerows(rows)
    return path


def write_tsv(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("".join(f"{text}\t{label}\n" for text, label in rows), encoding="utf-8")
    return path


def refused(env: dict[str, str], path: Path | str, *args: str, words: tuple[str, ...], **env_overrides: str) -> str:
    """Import `path`, expect exit 2 with one error line naming `words`, and an untouched (empty) store."""
    proc = core_cli("datasets", "add", str(path), *args, env=env, **env_overrides)
    line = assert_one_line_error(proc, *words)
    assert proc.returncode == 2
    store = Path(env["SENTIMENT_LAB_HOME"]) / "datasets"
    assert not store.exists() or list(store.iterdir()) == []
    return line


# --- empty, binary, not text --------------------------------------------------------------------------------------------
def test_empty_file(env, tmp_path):
    path = tmp_path / "empty.csv"
    path.touch()
    refused(env, path, words=("empty.csv is empty",))


def test_file_of_blank_lines(env, tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("\ufeff \n\n  \r\n", encoding="utf-8")
    refused(env, path, words=("blank.csv is empty",))


def test_header_without_rows(env, tmp_path):
    path = tmp_path / "head.csv"
    path.write_text("review,sentiment\n", encoding="utf-8")
    refused(env, path, "--header", words=("header row but no data rows",))


def test_binary_file(env, tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_bytes(b"text,label\n" + bytes(range(256)) * 40)
    refused(env, path, words=("reviews.csv is not a text file", "NUL bytes"))


def test_image_named_csv(env, tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x01" * 100)
    refused(env, path, words=("not a text file", "PNG image"))


def test_spreadsheet_instead_of_csv(env, tmp_path, sentences):
    path = tmp_path / "reviews.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("xl/worksheets/sheet1.xml", "".join(t for t, _ in sentences[:50]))
    refused(env, path, words=("zip archive", "save it as CSV"))


def test_gzip_that_is_not_a_tar_archive(env, tmp_path, sentences):
    path = tmp_path / "reviews.csv.gz"
    path.write_bytes(gzip.compress("".join(f"{t}\t{l}\n" for t, l in sentences).encode()))
    refused(env, path, words=("gzip-compressed but not a .tar.gz", "unpack it first"))


def test_archive_without_train_folders(env, tmp_path, sentences):
    path = tmp_path / "reviews.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for i, (text, _) in enumerate(sentences[:20]):
            data = text.encode()
            info = tarfile.TarInfo(f"reviews/all/{i}.txt")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    refused(env, path, words=("has no train/<label>/*.txt files",))


def test_missing_file(env, tmp_path):
    refused(env, tmp_path / "nowhere.csv", words=("does not exist",))


# --- columns and labels -------------------------------------------------------------------------------------------------
def test_no_usable_text_column(env, tmp_path, sentences):
    rows = [(str(1000 + i), label, str(i % 7)) for i, (_, label) in enumerate(sentences[:100])]
    path = write_csv(tmp_path / "numbers.csv", rows, header=("id", "label", "stars_given"))
    refused(env, path, "--label-column", "label", words=("No usable text column", "'id', 'stars_given'",
                                                          "hold only numbers"))


def test_only_one_column(env, tmp_path, sentences):
    path = tmp_path / "texts.txt"
    path.write_text("".join(t.replace(",", "").replace("\t", " ") + "\n" for t, _ in sentences[:50]), encoding="utf-8")
    refused(env, path, words=("only one column", "delimiter"))


def test_label_column_with_one_class(env, tmp_path, sentences):
    path = write_tsv(tmp_path / "positives.txt", [row for row in sentences if row[1] == "1"])
    refused(env, path, words=("'column 2'", "holds one class only ('1')"))


def test_given_label_column_with_one_class(env, tmp_path, sentences):
    rows = [(text, label, "amazon") for text, label in sentences[:100]]
    path = write_csv(tmp_path / "shop.csv", rows, header=("text", "label", "source"))
    refused(env, path, "--label-column", "source", words=("Label column 'source'", "one class only ('amazon')"))


def test_more_than_twenty_classes_names_the_column_and_why(env, tmp_path, tweets):
    rows = [(text, f"topic {i % 25}") for i, text in enumerate(tweets[:500])]
    path = write_csv(tmp_path / "topics.csv", rows)
    refused(env, path, words=("column 'label' looked like the labels (its name says so)", "25 different values",
                              "more than 20 classes"))


def test_more_than_twenty_classes_without_a_header(env, tmp_path, tweets):
    rows = [(text, f"t{i % 30}") for i, text in enumerate(tweets[:600])]
    path = write_csv(tmp_path / "topics.csv", rows, header=None)
    refused(env, path, words=("column 'column 2' looked like the labels", "fewest different values",
                              "30 different values"))


def test_given_label_column_with_too_many_classes(env, data_dir):
    refused(env, data_dir / "text" / "Tweets.csv", "--label-column", "name",
            words=("Label column 'name'", "different values, more than 20 classes"))


def test_class_with_one_example(env, tmp_path, sentences):
    rows = sentences[:100] + [(sentences[100][0], "2")]
    path = write_tsv(tmp_path / "odd.txt", rows)
    refused(env, path, words=("class '2' has fewer than 2 examples",))


def test_unknown_column_name(env, data_dir):
    refused(env, data_dir / "text" / "Tweets.csv", "--text-column", "tweet", words=("No text column 'tweet'",
                                                                                    "'airline_sentiment'"))


def test_rows_with_empty_text_or_label_are_dropped_and_counted(env, tmp_path, sentences):
    rows = [(text, label) for text, label in sentences[:40]]
    for i in (3, 9, 17):
        rows[i] = ("   ", rows[i][1])
    for i in (5, 11):
        rows[i] = (rows[i][0], "")
    proc = core_cli("datasets", "add", str(write_csv(tmp_path / "holes.csv", rows)), env=env)
    assert proc.returncode == 0, proc.stderr
    (out,) = json_lines(proc.stdout)
    assert out["report"]["dropped_empty_text"] == 3 and out["report"]["dropped_empty_label"] == 2
    assert out["train_size"] + out["test_size"] == 35


# --- quoting, encoding, size ---------------------------------------------------------------------------------------------
def test_unclosed_quote(env, tmp_path, sentences):
    path = tmp_path / "quotes.csv"
    body = "".join(f'"{t.replace(chr(34), "")}",{l}\n' for t, l in sentences[:30])
    rest = "".join(f'{t.replace(chr(34), "").replace(",", "")},{l}\n' for t, l in sentences[30:60])
    path.write_text("text,label\n" + body + '"this one never closes,1\n' + rest, encoding="utf-8")
    refused(env, path, words=("Malformed quoting in quotes.csv at line", "unclosed quote"))


def test_text_after_a_closing_quote(env, tmp_path, sentences):
    path = tmp_path / "quotes.csv"
    body = "".join(f'"{t.replace(chr(34), "")}",{l}\n' for t, l in sentences[:30])
    path.write_text("text,label\n" + body + '"quoted" then more,1\n', encoding="utf-8")
    refused(env, path, words=("Malformed quoting in quotes.csv at line 32",))


def test_latin1_file_is_read_and_the_fallback_reported(env, tmp_path, sentences):
    path = tmp_path / "latin.txt"
    rows = [(f"{text} café crème", label) for text, label in sentences[:60]]
    path.write_bytes("".join(f"{t}\t{l}\n" for t, l in rows).encode("latin-1"))
    proc = core_cli("datasets", "add", str(path), env=env)
    assert proc.returncode == 0, proc.stderr
    (out,) = json_lines(proc.stdout)
    layout = out["report"]["layout"]
    assert layout["encoding"] == "latin-1" and "read as Latin-1" in layout["notes"][0]
    shown = json_lines(core_cli("datasets", "show", "latin", env=env).stdout)[0]
    assert shown["report"]["layout"]["notes"] == layout["notes"]


def test_utf8_bom_is_not_part_of_the_first_column_name(env, tmp_path, sentences):
    path = tmp_path / "bom.csv"
    write_csv(path, sentences[:60], header=("review", "sentiment"))
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    proc = core_cli("datasets", "add", str(path), env=env)
    assert proc.returncode == 0, proc.stderr
    layout = json_lines(proc.stdout)[0]["report"]["layout"]
    assert layout["encoding"] == "utf-8 with BOM" and layout["columns"] == ["review", "sentiment"]


def test_file_over_the_size_limit(env, data_dir):
    refused(env, data_dir / "text" / "Tweets.csv", words=("Tweets.csv is 3.0 MB, over the 1 MB limit",
                                                          "SENTIMENT_LAB_MAX_UPLOAD_MB"), SENTIMENT_LAB_MAX_UPLOAD_MB="1")


def test_archive_text_over_the_size_limit(env, tmp_path, sentences):
    """A small archive can unpack to much more text (a zip bomb's trick): the limit counts the text inside too."""
    path = tmp_path / "big.tar.gz"
    body = "".join(t + "\n" for t, _ in sentences[:100]).encode() * 100  # about 0.55 MB, compresses to a few KB
    with tarfile.open(path, "w:gz") as tar:
        for i, label in enumerate(["pos", "neg"] * 2):
            info = tarfile.TarInfo(f"train/{label}/{i}.txt")
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    assert path.stat().st_size < 2**20 / 2
    refused(env, path, words=("The text inside big.tar.gz is", "over the 1 MB limit"), SENTIMENT_LAB_MAX_UPLOAD_MB="1")


def test_bad_size_limit_setting(env, data_dir):
    refused(env, data_dir / "text" / "imdb_labelled.txt", words=("SENTIMENT_LAB_MAX_UPLOAD_MB must be a positive number",
                                                                 "'lots'"), SENTIMENT_LAB_MAX_UPLOAD_MB="lots")


# --- names and options ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["../outside", "a/b", "has space", "-dash-first", "imdb", "x" * 65])
def test_unsafe_or_reserved_names(env, tmp_path, data_dir, name):
    refused(env, data_dir / "text" / "imdb_labelled.txt", f"--name={name}", words=(f"{name!r}",))
    assert not (tmp_path / "outside").exists()


@pytest.mark.parametrize("size", ["0", "1", "-0.2", "1.5"])
def test_test_size_outside_zero_and_one(env, data_dir, size):
    refused(env, data_dir / "text" / "imdb_labelled.txt", "--test-size", size, words=("Test size", "between 0 and 1"))


def test_unusable_delimiter(env, data_dir):
    refused(env, data_dir / "text" / "imdb_labelled.txt", "--delimiter", "ab", words=("Delimiter 'ab' is not usable",))


def test_column_options_are_refused_for_a_folder_layout(env, data_dir):
    refused(env, data_dir / "aclImdb_v1_labeled.tar.gz", "--text-column", "review",
            words=("laid out as train/<label>/*.txt", "CSV and TSV files only"))


def excel_unicode_text(rows: list[tuple[str, str]], encoding: str = "utf-16") -> bytes:
    """What Excel's "Unicode Text (*.txt)" writes: a header row, tab-separated, CRLF, UTF-16 LE with a BOM."""
    return "".join(f"{t}\t{l}\r\n" for t, l in [("review", "sentiment"), *rows]).encode(encoding)


@pytest.mark.parametrize("encoding, shown", [("utf-16", "UTF-16 LE with BOM"), ("utf-32-be", "UTF-32 BE with BOM")])
def test_utf16_and_utf32_with_a_bom_are_read_and_the_encoding_reported(env, tmp_path, sentences, encoding, shown):
    path = tmp_path / "unicode.txt"
    data = excel_unicode_text([(f"{t} — café", l) for t, l in sentences[:60]], encoding)
    path.write_bytes(data if encoding == "utf-16" else b"\x00\x00\xfe\xff" + data)
    proc = core_cli("datasets", "add", str(path), env=env)
    assert proc.returncode == 0, proc.stderr
    (out,) = json_lines(proc.stdout)
    layout = out["report"]["layout"]
    assert layout["encoding"] == shown and layout["delimiter"] == "tab" and layout["header"] is True
    assert (layout["text_column"], layout["label_column"]) == ("review", "sentiment")
    assert out["train_size"] + out["test_size"] == 60 and out["labels"] == ["0", "1"]
    shown_rows = json_lines(core_cli("datasets", "preview", str(path), env=env).stdout)[0]["rows"]
    assert shown_rows[0][0].endswith(" — café") and "\r" not in shown_rows[0][1]


def test_binary_behind_a_utf16_bom_and_broken_utf16_are_still_refused(env, tmp_path, sentences):
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe" + b"\x01\x00\x00\x00\x41\x00" * 500)  # NUL and control characters
    refused(env, binary, words=("binary.csv is not a text file", "binary file (it contains NUL bytes)"))
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"\xff\xfe" + bytes(range(256)) * 40)  # no valid UTF-16 either
    refused(env, garbage, words=("garbage.csv starts with a UTF-16 LE byte-order mark but is not valid UTF-16",))
    broken = tmp_path / "broken.txt"
    broken.write_bytes(excel_unicode_text(sentences[:60]) + b"\x00\xd8\x41\x00")  # a lone high surrogate
    refused(env, broken, words=("broken.txt starts with a UTF-16 LE byte-order mark but is not valid UTF-16",
                                "save it again as UTF-8"))


def test_a_folder_of_notepad_unicode_files_is_read_and_says_so(env, tmp_path, sentences):
    root = tmp_path / "notes"
    for n, (text, label) in enumerate(sentences[:40]):
        (root / "train" / label).mkdir(parents=True, exist_ok=True)
        encoding = "utf-16" if n % 2 else "utf-8"  # Notepad's "Unicode" beside plain UTF-8
        (root / "train" / label / f"{n}.txt").write_bytes(text.encode(encoding))
    proc = core_cli("datasets", "add", str(root), env=env)
    assert proc.returncode == 0, proc.stderr
    (out,) = json_lines(proc.stdout)
    assert out["report"]["layout"]["encoding"] == "UTF-16 LE with BOM and utf-8"
    assert out["train_size"] + out["test_size"] == 40
