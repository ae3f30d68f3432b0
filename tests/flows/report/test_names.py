"""The report's words: one name per exercise and resistance, and Markdown that escapes stored strings."""

from __future__ import annotations

import pytest

from flows.report.names import describe_resistance, exercise_name, exercise_title, status_words
from flows.report.render import md_text


@pytest.mark.parametrize(
    ("resistance", "words"),
    [
        ("band:red", "red band"),
        ("band:3", "band level 3"),
        ("ankle:2kg", "2 kg ankle weight"),
        ("ankle:1.5kg", "1.5 kg ankle weight"),
        ("ankle:5lb", "5 lb (2.27 kg) ankle weight"),
        ("dumbbell:10lb", "10 lb (4.54 kg) dumbbell weight"),
        ("bodyweight", "bodyweight"),
        (None, "an unlogged resistance"),
    ],
)
def test_resistances_in_words(resistance: str | None, words: str) -> None:
    assert describe_resistance(resistance) == words


def test_every_exercise_has_one_display_name() -> None:
    from hipsync.records import Exercise

    names = {exercise_name(e.value) for e in Exercise}
    assert len(names) == len(Exercise) and not any("_" in n for n in names)
    assert exercise_title("banded_abduction_standing", "left") == "standing banded abduction (left)"
    assert exercise_name("unknown") == "unrecognised"
    assert status_words("new_resistance") == "stepped up" and status_words("changed_implement") != ""


def test_markdown_escapes_stored_text_but_keeps_the_reports_commands() -> None:
    text = "band:*red* | <b>x</b> [link](y) see `hipsync log abc 1`"
    assert md_text(text) == r"band:\*red\* \| \<b\>x\</b\> \[link\](y) see `hipsync log abc 1`"
