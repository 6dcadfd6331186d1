"""The home-care exercise library: the `Exercise` type and its loader from content/exercises.toml.

Every exercise, dose and stop rule comes from the ankle-care reference (sections 3, 4 and 5) and
lives in the data file, one `[[exercise]]` table each, in the order the session builder prefers
them (`flows.sessions`). `parse_exercises` turns the TOML text into frozen `Exercise` values and
refuses anything a session or a Telegram button could trip over later: a missing phase, dose,
how-to or stop rule, an unknown key, phase or location, a duplicate or over-long id, a
`replaces` naming no exercise, a phase with no exercise, a prevention exercise without its three
difficulty levels. `exercises()` reads the shipped file
once, on first use; the bot calls it at start-up so a broken file stops it with one line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from flows.content import (
    CONTENT_DIR,
    ContentError,
    check_keys,
    parse_toml,
    read_content,
)
from flows.types import Location, Phase

__all__ = [
    "EXERCISES_FILE",
    "ContentError",
    "Exercise",
    "exercise_by_id",
    "exercises",
    "parse_exercises",
]

EXERCISES_FILE = CONTENT_DIR / "exercises.toml"

DEFAULT_SOURCE = "Runner-focused physiotherapy articles (M. Whitt, T. Petrie)"

# Ids travel in Telegram callback data (64 bytes in all, shared with the action and other
# fields) and are stored with the runner's exercise logs, so they stay short ascii slugs.
ID_MAX_BYTES = 20
_ID_PATTERN = re.compile(r"[a-z0-9_]+")

PHASE_NAMES: Mapping[str, Phase] = {phase.name.lower(): phase for phase in Phase}
LOCATION_NAMES: Mapping[str, Location] = {location.value: location for location in Location}

_REQUIRED_TEXT = ("name", "purpose", "dose", "feel", "stop_if")
_OPTIONAL_TEXT = ("replaces", "variant_note", "source")
_FLAGS = ("plyometric", "balance", "skip_while_outside_sprain_healing", "path_only", "prevention")
_LOCATION_SETS = ("leads_for", "only_for")
_KEYS = frozenset(
    {"id", "phase", "how_to", "location_notes", "levels", *_REQUIRED_TEXT, *_OPTIONAL_TEXT}
    | set(_FLAGS)
    | set(_LOCATION_SETS)
)
# A prevention exercise has exactly these many difficulty levels (even floor or hand support,
# then a raised surface or eyes closed, then a balance board or cushion; Hupperets 2009).
PREVENTION_LEVELS = 3


@dataclass(frozen=True, slots=True)
class Exercise:
    """One exercise of the library, with everything a message about it needs.

    `id` is a short ascii slug carried in Telegram callback data, so it must never change.
    `leads_for` lists the locations whose plan puts this exercise first; `only_for`, when not
    empty, restricts the exercise to those locations; `replaces` names an exercise this one
    supersedes once its phase is reached; `variant_note` is always shown with the exercise and
    `location_notes` only for the matching location. A `path_only` exercise belongs to the care
    paths that name it (`flows.path_plans`) and is never picked as filler; a `prevention`
    exercise is one of the after-recovery programme, with its difficulty `levels`, and is also
    left to the paths and the programme that name it.
    """

    id: str
    name: str
    purpose: str
    phase: Phase
    dose: str
    how_to: tuple[str, ...]
    feel: str
    stop_if: str
    plyometric: bool = False
    leads_for: frozenset[Location] = frozenset()
    balance: bool = False
    only_for: frozenset[Location] = frozenset()
    replaces: str = ""
    variant_note: str = ""
    location_notes: tuple[tuple[Location, str], ...] = ()
    skip_while_outside_sprain_healing: bool = False
    source: str = DEFAULT_SOURCE
    path_only: bool = False
    prevention: bool = False
    levels: tuple[str, ...] = ()

    @property
    def named_only(self) -> bool:
        """Only in a session whose care path names it, never as filler."""
        return self.path_only or self.prevention

    def note_for(self, location: Location) -> str:
        """The variant note and any note for this location, joined, or "" when none applies."""
        notes = [self.variant_note] if self.variant_note else []
        notes += [text for where, text in self.location_notes if where is location]
        return " ".join(notes)

    def suits(self, location: Location) -> bool:
        return not self.only_for or location in self.only_for


# --- loading and checking --------------------------------------------------------------------


def parse_exercises(text: str, *, source: str = "content/exercises.toml") -> tuple[Exercise, ...]:
    """The library described by the TOML `text`, in file order; ContentError when it is wrong.

    `source` names the file in error messages.
    """
    document = parse_toml(text, source=source)
    check_keys(document, {"exercise"}, where=source)
    tables = document.get("exercise", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ContentError(f"{source}: 'exercise' must be [[exercise]] tables")
    library = tuple(_exercise(table, index, source) for index, table in enumerate(tables))
    _check_library(library, source)
    return library


@cache
def exercises() -> tuple[Exercise, ...]:
    """The shipped library (content/exercises.toml), read and checked once, on first use."""
    text, source = read_content(EXERCISES_FILE)
    return parse_exercises(text, source=source)


@cache
def _by_id() -> dict[str, Exercise]:
    return {exercise.id: exercise for exercise in exercises()}


def exercise_by_id(exercise_id: str) -> Exercise | None:
    """The exercise with this id, or None for an unknown (e.g. stale callback) id."""
    return _by_id().get(exercise_id)


# The library in order, for code that iterates it; the file is read on the first iteration.


def _exercise(table: dict[str, Any], index: int, source: str) -> Exercise:
    exercise_id = table.get("id")
    label = repr(exercise_id) if isinstance(exercise_id, str) and exercise_id else f"#{index + 1}"
    where = f"{source}: exercise {label}"

    def fail(field: str, problem: str) -> ContentError:
        return ContentError(f"{where}, {field}: {problem}")

    check_keys(table, _KEYS, where=where)

    def text(field: str, *, required: bool) -> str:
        if field not in table:
            if required:
                raise fail(field, "missing")
            return ""
        value = table[field]
        if not isinstance(value, str) or not value.strip():
            raise fail(field, "must be a non-empty string")
        return value

    def flag(field: str) -> bool:
        value = table.get(field, False)
        if not isinstance(value, bool):
            raise fail(field, "must be true or false")
        return value

    def location(value: Any, field: str) -> Location:
        if not isinstance(value, str) or value not in LOCATION_NAMES:
            raise fail(field, f"unknown location {value!r} (known: {', '.join(LOCATION_NAMES)})")
        return LOCATION_NAMES[value]

    def locations(field: str) -> frozenset[Location]:
        values = table.get(field, [])
        if not isinstance(values, list):
            raise fail(field, "must be a list of locations")
        return frozenset(location(value, field) for value in values)

    exercise_id = text("id", required=True)
    if len(exercise_id.encode()) > ID_MAX_BYTES or not _ID_PATTERN.fullmatch(exercise_id):
        raise fail("id", f"must be at most {ID_MAX_BYTES} characters of a-z, 0-9 and _")

    if "phase" not in table:
        raise fail("phase", "missing")
    if not isinstance(table["phase"], str) or table["phase"] not in PHASE_NAMES:
        known = ", ".join(PHASE_NAMES)
        raise fail("phase", f"unknown phase {table['phase']!r} (known: {known})")
    phase = PHASE_NAMES[table["phase"]]

    if "how_to" not in table:
        raise fail("how_to", "missing")
    how_to = table["how_to"]
    if not isinstance(how_to, list) or not how_to:
        raise fail("how_to", "must be a non-empty list of steps")
    if not all(isinstance(step, str) and step.strip() for step in how_to):
        raise fail("how_to", "every step must be a non-empty string")

    notes = table.get("location_notes", [])
    if not isinstance(notes, list) or not all(isinstance(note, dict) for note in notes):
        raise fail("location_notes", "must be a list of { where = ..., text = ... } tables")
    location_notes = []
    for note in notes:
        check_keys(note, {"where", "text"}, where=f"{where}, location_notes")
        if not isinstance(note.get("text"), str) or not note["text"].strip():
            raise fail("location_notes", "every note needs a non-empty text")
        location_notes.append((location(note.get("where"), "location_notes"), note["text"]))

    levels = table.get("levels", [])
    if not isinstance(levels, list) or not all(
        isinstance(level, str) and level.strip() for level in levels
    ):
        raise fail("levels", "must be a list of non-empty strings")
    prevention = flag("prevention")
    if len(levels) != (PREVENTION_LEVELS if prevention else 0):
        raise fail("levels", f"a prevention exercise has exactly {PREVENTION_LEVELS}, others none")

    plyometric = flag("plyometric")
    # Only hops may be plyometric and every hop must say so: the session builder keeps
    # plyometric drills out of the filler and phase-4 work out of everything but the hop slots,
    # so a mismatch would silently never be shown.
    if plyometric != (phase is Phase.PLYOMETRIC):
        raise fail("plyometric", "must be true exactly for exercises of the plyometric phase")

    return Exercise(
        id=exercise_id,
        name=text("name", required=True),
        purpose=text("purpose", required=True),
        phase=phase,
        dose=text("dose", required=True),
        how_to=tuple(how_to),
        feel=text("feel", required=True),
        stop_if=text("stop_if", required=True),
        plyometric=plyometric,
        leads_for=locations("leads_for"),
        balance=flag("balance"),
        only_for=locations("only_for"),
        replaces=text("replaces", required=False),
        variant_note=text("variant_note", required=False),
        location_notes=tuple(location_notes),
        skip_while_outside_sprain_healing=flag("skip_while_outside_sprain_healing"),
        source=text("source", required=False) or DEFAULT_SOURCE,
        path_only=flag("path_only"),
        prevention=prevention,
        levels=tuple(levels),
    )


def _check_library(library: tuple[Exercise, ...], source: str) -> None:
    """Checks across exercises: unique ids, `replaces` targets, every phase represented."""
    seen: set[str] = set()
    for exercise in library:
        if exercise.id in seen:
            raise ContentError(f"{source}: exercise {exercise.id!r}, id: used twice")
        seen.add(exercise.id)
    for exercise in library:
        if exercise.replaces and (
            exercise.replaces not in seen or exercise.replaces == exercise.id
        ):
            raise ContentError(
                f"{source}: exercise {exercise.id!r}, replaces: "
                f"{exercise.replaces!r} is not another exercise of the library"
            )
    for phase in Phase:
        if not any(exercise.phase is phase for exercise in library):
            raise ContentError(f"{source}: phase {phase.name.lower()!r} has no exercise")
