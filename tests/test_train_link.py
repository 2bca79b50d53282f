"""What a shared Train link's settings become, and how a waiting run's place in the queue is worded: plain core
functions, without a page."""
from __future__ import annotations

from dataclasses import replace

from core import train_link
from core.hparams import PARAMS, PRESETS
from core.runner import QueueInfo


def test_a_link_names_a_preset_in_any_case_and_an_unknown_one_falls_back_to_dlwp() -> None:
    assert train_link.preset("LSTM") == ("lstm", None)
    assert train_link.preset(None) == ("dlwp", None)
    name, note = train_link.preset("<b>gpt</b>")
    assert name == "dlwp" and note == "The link names an unknown preset '<b>gpt</b>'; showing dlwp."


def test_values_in_range_are_taken_and_the_others_replaced_by_the_presets_with_a_note() -> None:
    base = PRESETS["lstm"]
    link = {"preset": "lstm", "epochs": "7", "units": "9999", "batch_size": "many", "patience": ""}
    found, notes = train_link.values(link, PARAMS, PARAMS.__getitem__, base)
    assert found == {"units": base.units, "batch_size": base.batch_size, "epochs": 7, "patience": None}
    assert notes == ["units=9999 is out of range: 1 to 1,024. The preset's value 120 is used instead.",
                     "batch_size='many' is not a whole number: 1 to 4,096. The preset's value 64 is used instead."]


def test_an_assignment_range_is_narrower_than_the_settings_own() -> None:
    narrow = replace(PARAMS["epochs"], low=1, high=5)
    found, notes = train_link.values({"epochs": "8", "units": "32"}, ["epochs"], {"epochs": narrow}.__getitem__,
                                     PRESETS["dlwp"])
    assert found == {"epochs": 4}, "a setting the assignment does not open is not read from the link"
    assert notes == ["epochs=8 is out of range: 1 to 5. The preset's value 4 is used instead."]


def test_the_queue_message_names_the_place_who_is_ahead_and_the_wait() -> None:
    assert QueueInfo(position=3, ahead=3, students=2, wait_seconds=40, result_seconds=52).message() == (
        "Waiting for the trainer: your run is number 3 in the queue. Ahead of it: 2 waiting and 1 training (from "
        "2 people), about 40 s to wait; your results in about 52 s.")
    assert QueueInfo(position=1, ahead=1, students=1, wait_seconds=150, result_seconds=210).message().endswith(
        "Ahead of it: 0 waiting and 1 training (from 1 person), about 2.5 min to wait; your results in about 3.5 min.")
