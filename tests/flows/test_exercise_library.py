"""Tests for flows/exercise_library.py: the shipped content/exercises.toml and its validation."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from flows.exercise_library import (
    DEFAULT_SOURCE,
    EXERCISES_FILE,
    ContentError,
    Exercise,
    exercise_by_id,
    exercises,
    parse_exercises,
)
from flows.types import Location, Phase

# Reference section 4, one row per exercise: (id, phase, dose text as the reference gives it).
REFERENCE_LIBRARY = [
    ("alphabet", Phase.MOBILITY, "1-2 alphabets, 2-3 times a day"),
    ("calf_stretch", Phase.MOBILITY, "hold 30 s, 3-5 each way, each leg"),
    ("tib_stretch", Phase.MOBILITY, "hold 30 s, 3-5 times"),
    ("band", Phase.STRENGTH, "3 x 15 each direction, each foot"),
    ("calf_raise", Phase.STRENGTH, "3 x 15"),
    (
        "heel_drops",
        Phase.STRENGTH,
        "3 x 15 knee straight and 3 x 15 knee bent, twice a day, every day for 12 weeks",
    ),
    ("wall_bridge", Phase.STRENGTH, "2-3 sets, to effort"),
    ("bigtoe_raise", Phase.STRENGTH, "12 reps, 2 s up / 3 s down, 2-3 sets"),
    ("lunge_raise", Phase.BALANCE, "12 each side, 2-3 sets"),
    (
        "sl_stance",
        Phase.BALANCE,
        "hold as long as possible, 5-10 reps each foot; progress to eyes closed, then a "
        "cushion or foam pad",
    ),
    # Care-by-path additions (issue 9): one protocol each, with its source's dose.
    (
        "heel_drops_floor",
        Phase.STRENGTH,
        "3 x 15 knee straight and 3 x 15 knee bent, twice a day, for 12 weeks",
    ),
    (
        "hsr_raise",
        Phase.STRENGTH,
        "3 times a week, every 2nd day: week 1 3 x 15, weeks 2-3 3 x 12, weeks 4-5 4 x 10, "
        "weeks 6-8 4 x 8 (a common guide), weeks 9-12 4 x 6",
    ),
    ("calf_iso", Phase.MOBILITY, "hold 45 s, 5 times (a common guide), when the tendon is sore"),
    (
        "plantar_raise",
        Phase.STRENGTH,
        "every 2nd day for 3 months: 3 x 12 for 2 weeks, then 4 x 10 with a backpack, then "
        "from week 4 5 x 8",
    ),
    (
        "fascia_stretch",
        Phase.MOBILITY,
        "hold 10 s, 10 times, at least 3 times a day, once before your first steps in the morning",
    ),
    ("band_inversion", Phase.STRENGTH, "3 x 15 (a common guide), twice a day, for 10 weeks"),
    ("bf_stance", Phase.BALANCE, "hold 1 minute each leg"),
    ("bf_knee_bend", Phase.BALANCE, "2 x 15 each leg"),
    ("bf_toe_raise", Phase.BALANCE, "2 x 15"),
    ("side_hops", Phase.PLYOMETRIC, "2 sets of 10 to start"),
    ("switch_lunge", Phase.PLYOMETRIC, "6-8 each side, 2-4 sets"),
    ("plate_hops", Phase.PLYOMETRIC, "6 moving left, 6 moving right, 2-4 sets"),
]


def _ids(rows: list[Any]) -> list[str]:
    return [row[0] for row in rows]


class TestLibrary:
    @pytest.mark.parametrize(
        ("exercise_id", "phase", "dose"), REFERENCE_LIBRARY, ids=_ids(REFERENCE_LIBRARY)
    )
    def test_every_reference_exercise_is_present_with_its_phase_and_reference_dose(
        self, exercise_id: str, phase: Phase, dose: str
    ) -> None:
        exercise = exercise_by_id(exercise_id)
        assert exercise is not None
        assert exercise.phase is phase
        assert exercise.dose == dose

    def test_library_holds_exactly_the_reference_exercises(self) -> None:
        assert sorted(e.id for e in exercises()) == sorted(_ids(REFERENCE_LIBRARY))

    def test_every_id_is_unique(self) -> None:
        ids = [e.id for e in exercises()]
        assert len(ids) == len(set(ids))

    @pytest.mark.parametrize("exercise", exercises(), ids=lambda e: e.id)
    def test_id_is_a_short_ascii_slug_safe_for_callback_data(self, exercise: Exercise) -> None:
        assert len(exercise.id.encode()) <= 20
        assert re.fullmatch(r"[a-z0-9_]+", exercise.id)

    @pytest.mark.parametrize("exercise", exercises(), ids=lambda e: e.id)
    def test_every_exercise_says_why_how_what_to_feel_and_when_to_stop(
        self, exercise: Exercise
    ) -> None:
        assert exercise.name and exercise.purpose and exercise.feel and exercise.stop_if
        assert exercise.how_to and all(step.strip() for step in exercise.how_to)

    @pytest.mark.parametrize("exercise", exercises(), ids=lambda e: e.id)
    def test_only_phase_four_exercises_are_plyometric(self, exercise: Exercise) -> None:
        assert exercise.plyometric == (exercise.phase is Phase.PLYOMETRIC)

    def test_unknown_id_gives_none(self) -> None:
        assert exercise_by_id("no_such") is None

    def test_tibialis_anterior_stretch_is_marked_to_skip_while_an_outside_sprain_heals(
        self,
    ) -> None:
        marked = {e.id for e in exercises() if e.skip_while_outside_sprain_healing}
        assert marked == {"tib_stretch"}

    def test_the_path_protocols_are_kept_for_the_paths_that_name_them(self) -> None:
        kept = {e.id for e in exercises() if e.path_only}
        assert kept == {
            "heel_drops",
            "heel_drops_floor",
            "hsr_raise",
            "calf_iso",
            "plantar_raise",
            "fascia_stretch",
            "band_inversion",
        }

    @pytest.mark.parametrize("exercise_id", ["bf_stance", "bf_knee_bend", "bf_toe_raise"])
    def test_the_2bfit_exercises_are_prevention_with_three_levels_from_hupperets(
        self, exercise_id: str
    ) -> None:
        exercise = exercise_by_id(exercise_id)
        assert exercise is not None and exercise.prevention and exercise.named_only
        assert len(exercise.levels) == 3
        assert exercise.levels[0].startswith("Level 1")
        assert "Hupperets" in exercise.source

    @pytest.mark.parametrize("exercise", exercises(), ids=lambda e: e.id)
    def test_every_added_exercise_names_its_source(self, exercise: Exercise) -> None:
        if exercise.path_only or exercise.prevention:
            assert exercise.source != DEFAULT_SOURCE

    @pytest.mark.parametrize("exercise", exercises(), ids=lambda e: e.id)
    def test_unsourced_numbers_are_worded_as_a_common_guide(self, exercise: Exercise) -> None:
        # The reference marks these doses UNSOURCED (issue 9: "a common guide" to the runner).
        if exercise.id in {"hsr_raise", "calf_iso", "band_inversion"}:
            assert "a common guide" in exercise.dose

    @pytest.mark.parametrize("exercise", exercises(), ids=lambda e: e.id)
    def test_every_stop_rule_is_a_whole_sentence(self, exercise: Exercise) -> None:
        # The how-to shows it without a "Stop if:" label, so it must read on its own.
        assert exercise.stop_if[0].isupper() and exercise.stop_if.endswith(".")


# The library's order (the one it had as Python literals in flows/programme.py, the care-path
# exercises added before the hops): the session builder prefers earlier entries.
PREVIOUS_ORDER = (
    "alphabet",
    "tib_stretch",
    "calf_stretch",
    "band",
    "calf_raise",
    "heel_drops",
    "wall_bridge",
    "bigtoe_raise",
    "lunge_raise",
    "sl_stance",
    "heel_drops_floor",
    "hsr_raise",
    "calf_iso",
    "plantar_raise",
    "fascia_stretch",
    "band_inversion",
    "bf_stance",
    "bf_knee_bend",
    "bf_toe_raise",
    "side_hops",
    "switch_lunge",
    "plate_hops",
)


class TestShippedFile:
    def test_it_loads_with_the_previous_ids_in_the_previous_order(self) -> None:
        assert tuple(e.id for e in exercises()) == PREVIOUS_ORDER

    def test_every_exercise_keeps_its_phase_and_dose(self) -> None:
        by_id = {e.id: e for e in exercises()}
        assert {i: (by_id[i].phase, by_id[i].dose) for i, _, _ in REFERENCE_LIBRARY} == {
            i: (phase, dose) for i, phase, dose in REFERENCE_LIBRARY
        }

    def test_the_flags_locations_and_notes_survive_the_move(self) -> None:
        band = exercise_by_id("band")
        assert band is not None
        assert band.leads_for == {Location.OUTSIDE, Location.INSIDE}
        assert band.note_for(Location.INSIDE).startswith("Start with pushing the foot in")
        assert band.note_for(Location.BACK) == ""
        lunge = exercise_by_id("lunge_raise")
        assert lunge is not None and lunge.balance and lunge.replaces == "wall_bridge"
        heel_drops = exercise_by_id("heel_drops")
        assert heel_drops is not None and heel_drops.path_only
        assert heel_drops.source.startswith("Alfredson")
        alphabet = exercise_by_id("alphabet")
        assert alphabet is not None and alphabet.source.startswith("Runner-focused")
        assert [e.id for e in exercises() if e.plyometric] == [
            "side_hops",
            "switch_lunge",
            "plate_hops",
        ]

    def test_it_is_read_once(self) -> None:
        assert exercises() is exercises()
        assert len(exercises()) == len(PREVIOUS_ORDER)

    def test_it_lives_in_the_top_level_content_directory(self) -> None:
        root = Path(__file__).resolve().parents[2]
        assert root / "content" / "exercises.toml" == EXERCISES_FILE

    def test_it_is_found_whatever_the_working_directory(self, tmp_path: Path) -> None:
        script = "from flows.exercise_library import exercises; print(len(exercises()))"
        found = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp_path,
        )
        assert found.stdout.strip() == str(len(PREVIOUS_ORDER))


# --- validation ----------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value)


def _toml(*tables: dict[str, Any]) -> str:
    """TOML text with one [[exercise]] table per dict (enough of TOML for these tests)."""
    return "\n".join(
        "[[exercise]]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in table.items())
        for table in tables
    )


def _entry(exercise_id: str, phase: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": exercise_id,
        "name": f"Name of {exercise_id}",
        "purpose": "Why.",
        "phase": phase,
        "dose": "3 x 15",
        "how_to": ["Step one.", "Step two."],
        "feel": "Effort.",
        "stop_if": "Stop above 5/10.",
        **({"plyometric": True} if phase == "plyometric" else {}),
        **extra,
    }


def _library(**changes: Any) -> list[dict[str, Any]]:
    """A small valid library, one exercise per phase; `changes` edit the strength one ("band")."""
    band = _entry("band", "strength")
    for key, value in changes.items():
        if value is None:
            band.pop(key, None)
        else:
            band[key] = value
    return [
        _entry("alphabet", "mobility"),
        band,
        _entry("sl_stance", "balance"),
        _entry("side_hops", "plyometric"),
    ]


def _refused(*tables: dict[str, Any]) -> str:
    with pytest.raises(ContentError) as error:
        parse_exercises(_toml(*tables), source="exercises.toml")
    message = str(error.value)
    assert message.startswith("exercises.toml") and "\n" not in message
    return message


class TestValidation:
    def test_a_small_valid_library_parses(self) -> None:
        library = parse_exercises(
            _toml(
                *_library(
                    leads_for=["outside", "all"],
                    location_notes=[{"where": "inside", "text": "Inside note."}],
                    replaces="alphabet",
                )
            )
        )
        assert [e.id for e in library] == ["alphabet", "band", "sl_stance", "side_hops"]
        band = library[1]
        assert isinstance(band, Exercise) and band.phase is Phase.STRENGTH
        assert band.leads_for == {Location.OUTSIDE, Location.ALL_OVER}
        assert band.how_to == ("Step one.", "Step two.")
        assert band.note_for(Location.INSIDE) == "Inside note."

    def test_a_prevention_exercise_with_three_levels_parses(self) -> None:
        levels = ["Floor.", "Raised.", "Board."]
        library = parse_exercises(_toml(*_library(prevention=True, levels=levels)))
        assert library[1].prevention and library[1].named_only
        assert library[1].levels == tuple(levels)

    def test_a_path_only_exercise_parses(self) -> None:
        library = parse_exercises(_toml(*_library(path_only=True)))
        assert library[1].path_only and library[1].named_only and not library[1].prevention

    @pytest.mark.parametrize(
        "field", ["phase", "dose", "how_to", "stop_if", "name", "purpose", "feel"]
    )
    def test_an_exercise_without_a_required_field_is_refused_naming_it(self, field: str) -> None:
        message = _refused(*_library(**{field: None}))
        assert f"exercise 'band', {field}: missing" in message

    @pytest.mark.parametrize(
        ("changes", "expected"),
        [
            pytest.param({"how_to": []}, "'band', how_to: must be a non-empty list", id="no_steps"),
            pytest.param({"how_to": ["Fine.", " "]}, "'band', how_to: every step", id="blank_step"),
            pytest.param({"how_to": "Do it."}, "'band', how_to: must be a non-empty", id="a_str"),
            pytest.param({"dose": "  "}, "'band', dose: must be a non-empty string", id="blank"),
            pytest.param({"stop_if": 5}, "'band', stop_if: must be a non-empty", id="not_text"),
            pytest.param({"phase": "stretching"}, "'band', phase: unknown phase", id="bad_phase"),
            pytest.param({"phase": "Strength"}, "'band', phase: unknown phase", id="phase_case"),
            pytest.param({"phase": 2}, "'band', phase: unknown phase", id="phase_number"),
            pytest.param({"dosage": "3 x 15"}, "'band': unknown key 'dosage'", id="unknown_key"),
            pytest.param({"leads_for": ["ankle"]}, "'band', leads_for: unknown location", id="loc"),
            pytest.param({"only_for": "back"}, "'band', only_for: must be a list", id="only_for"),
            pytest.param(
                {"location_notes": [{"where": "shin", "text": "Note."}]},
                "'band', location_notes: unknown location 'shin'",
                id="note_location",
            ),
            pytest.param(
                {"location_notes": [{"where": "back", "txt": "Note."}]},
                "'band', location_notes: unknown key 'txt'",
                id="note_key",
            ),
            pytest.param({"balance": "yes"}, "'band', balance: must be true or false", id="flag"),
            pytest.param(
                {"plyometric": True}, "'band', plyometric: must be true exactly", id="ply"
            ),
            pytest.param({"replaces": "no_such"}, "'band', replaces: 'no_such' is not", id="repl"),
            pytest.param({"replaces": "band"}, "'band', replaces: 'band' is not", id="repl_self"),
            pytest.param({"path_only": 1}, "'band', path_only: must be true or false", id="po"),
            pytest.param(
                {"prevention": True}, "'band', levels: a prevention exercise has exactly 3", id="pv"
            ),
            pytest.param(
                {"prevention": True, "levels": ["One.", "Two."]},
                "'band', levels: a prevention exercise has exactly 3",
                id="pv_two_levels",
            ),
            pytest.param(
                {"levels": ["One.", "Two.", "Three."]},
                "'band', levels: a prevention exercise has exactly 3, others none",
                id="levels_without_prevention",
            ),
            pytest.param({"levels": "One."}, "'band', levels: must be a list", id="levels_str"),
            pytest.param(
                {"prevention": True, "levels": ["One.", " ", "Three."]},
                "'band', levels: must be a list of non-empty strings",
                id="blank_level",
            ),
        ],
    )
    def test_a_malformed_exercise_is_refused_naming_it_and_the_field(
        self, changes: dict[str, Any], expected: str
    ) -> None:
        assert expected in _refused(*_library(**changes))

    @pytest.mark.parametrize(
        "exercise_id",
        ["a" * 21, "Band", "band-2", "bänd", "band two", ""],
        ids=["over_20_bytes", "capital", "hyphen", "non_ascii", "space", "empty"],
    )
    def test_an_id_that_is_not_a_short_ascii_slug_is_refused(self, exercise_id: str) -> None:
        message = _refused(*_library(id=exercise_id))
        assert ", id: " in message

    def test_an_id_of_exactly_20_bytes_is_allowed(self) -> None:
        library = parse_exercises(_toml(*_library(id="a" * 20)))
        assert library[1].id == "a" * 20

    def test_a_missing_id_names_the_exercise_by_its_position(self) -> None:
        assert "exercise #2, id: missing" in _refused(*_library(id=None))

    def test_a_duplicate_id_is_refused(self) -> None:
        tables = [*_library(), _entry("band", "strength")]
        assert "exercise 'band', id: used twice" in _refused(*tables)

    def test_a_phase_without_exercises_is_refused(self) -> None:
        tables = [t for t in _library() if t["phase"] != "balance"]
        assert "phase 'balance' has no exercise" in _refused(*tables)

    def test_an_unknown_top_level_key_is_refused(self) -> None:
        with pytest.raises(ContentError, match="unknown key 'exercises'"):
            parse_exercises("[[exercises]]\nid = 'band'\n")

    def test_text_that_is_not_toml_is_refused(self) -> None:
        with pytest.raises(ContentError, match="not valid TOML"):
            parse_exercises('[[exercise]]\nid = "band\n')
