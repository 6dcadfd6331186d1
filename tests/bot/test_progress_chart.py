"""The /progress chart: what it plots (read back from the Figure's artists), that the PNG is a
real image at phone size, the summary beside it, and what `load_progress` reads from a real
database on SQLite and PostgreSQL (`bot.db.progress_store`); every word drawn goes through the
translation given."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.dates import date2num, num2date
from matplotlib.figure import Figure
from matplotlib.image import imread
from matplotlib.lines import Line2D
from sqlalchemy.orm import Session

from bot.db import followup_store, store
from bot.db.database import Database
from bot.db.migrate import upgrade_to_head
from bot.db.progress_store import (
    AssessmentMark,
    ExerciseDay,
    PhaseChange,
    ProgressData,
    SorenessPoint,
    load_progress,
)
from bot.progress_chart import (
    ASSESSMENT_GID,
    DPI,
    FIGURE_SIZE,
    PHASE_GID,
    SESSION_GID_PREFIX,
    SORENESS_GID,
    build_figure,
    has_anything,
    render_png,
    summary,
)
from tests.bot.runners import make_runner

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
START = datetime(2026, 11, 2, 7, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
BERLIN = "Europe/Berlin"

SORENESS = (
    SorenessPoint(START, 6, "assessment"),
    SorenessPoint(START + DAY + 2 * HOUR, 5, "checkin"),
    SorenessPoint(START + 2 * DAY + 5 * HOUR, 5, "report"),
    SorenessPoint(START + 3 * DAY, 3, "checkin"),
    SorenessPoint(START + 5 * DAY + 11 * HOUR, 2, "checkin"),
)
SESSIONS = (
    ExerciseDay(date(2026, 11, 3), "done"),
    ExerciseDay(date(2026, 11, 4), "skipped"),
    ExerciseDay(date(2026, 11, 5), "done"),
    ExerciseDay(date(2026, 11, 6), "too_sore"),
    ExerciseDay(date(2026, 11, 7), "done"),
)
PHASES = (PhaseChange(START, 1), PhaseChange(START + 3 * DAY, 2))
ASSESSMENTS = (
    AssessmentMark(START - 10 * timedelta(minutes=1), "HOME_CARE"),
    AssessmentMark(START + 4 * DAY, "SEE_CLINICIAN"),
)
FULL = ProgressData(
    zone=BERLIN, soreness=SORENESS, sessions=SESSIONS, phase_changes=PHASES, assessments=ASSESSMENTS
)


def main_axes(figure: Figure) -> Axes:
    """The soreness axes (the phase axes is its twin, added after it)."""
    return figure.axes[0]


def artists(figure: Figure, gid: str) -> list[Line2D | PathCollection]:
    return [
        artist
        for axes in figure.axes
        for artist in (*axes.lines, *axes.collections)
        if artist.get_gid() == gid
    ]


def instants(xs: Iterable[float]) -> list[datetime]:
    """Axis positions back to aware UTC instants."""
    return [num2date(x) for x in xs]


def assert_same_instants(found: list[datetime], expected: list[datetime]) -> None:
    """Equal to well under a second: dates are floats (days) on the axis."""
    assert len(found) == len(expected)
    for got, wanted in zip(found, expected, strict=True):
        assert abs(got - wanted) < timedelta(milliseconds=1), (got, wanted)


# --- the PNG --------------------------------------------------------------------------------------


def test_the_png_is_a_real_image_at_phone_size():
    png = render_png(FULL)
    assert png.startswith(PNG_SIGNATURE)
    pixels = imread(io.BytesIO(png))
    height, width = round(FIGURE_SIZE[1] * DPI), round(FIGURE_SIZE[0] * DPI)
    assert pixels.shape[:2] == (height, width) == (600, 960)


def test_a_chart_with_only_an_assessment_still_renders():
    only = ProgressData(zone="UTC", assessments=(AssessmentMark(START, "EMERGENCY"),))
    assert has_anything(only)
    figure = build_figure(only)
    (line,) = artists(figure, ASSESSMENT_GID)
    assert_same_instants(instants(line.get_xdata()), [START, START])
    left, right = main_axes(figure).get_xlim()
    assert left < date2num(START) < right, "the only thing drawn is inside the chart"
    assert render_png(only).startswith(PNG_SIGNATURE)


def test_nothing_recorded_means_nothing_to_plot_but_still_an_image():
    empty = ProgressData(zone=BERLIN)
    assert not has_anything(empty)
    figure = build_figure(empty)
    assert not artists(figure, SORENESS_GID)
    assert "Nothing recorded yet" in [text.get_text() for text in main_axes(figure).texts]
    assert render_png(empty).startswith(PNG_SIGNATURE)


@pytest.mark.parametrize(
    "data",
    [
        ProgressData(zone="UTC", soreness=(SorenessPoint(START, 4, "report"),)),
        ProgressData(zone="UTC", sessions=(ExerciseDay(date(2026, 11, 3), "done"),)),
        ProgressData(zone="UTC", phase_changes=(PhaseChange(START, 1),)),
    ],
    ids=["one report", "one exercise day", "one phase"],
)
def test_any_single_thing_recorded_is_something_to_plot(data: ProgressData):
    assert has_anything(data)
    assert render_png(data).startswith(PNG_SIGNATURE)


def test_charts_drawn_in_several_threads_at_once_are_the_same_image():
    """The chart is drawn in worker threads: no shared pyplot state may leak between them."""
    expected = render_png(FULL)
    with ThreadPoolExecutor(max_workers=4) as pool:
        images = list(pool.map(lambda _: render_png(FULL), range(8)))
    assert all(image == expected for image in images)


def test_drawing_a_chart_never_imports_pyplot():
    script = (
        "import sys\n"
        "from bot.progress_chart import ProgressData, render_png\n"
        "render_png(ProgressData(zone='UTC'))\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)


# --- what is plotted ------------------------------------------------------------------------------


def test_the_soreness_line_has_every_report_at_its_instant_and_score():
    (line,) = artists(build_figure(FULL), SORENESS_GID)
    xy = line.get_xydata()
    assert_same_instants(instants(xy[:, 0]), [point.at for point in SORENESS])
    assert list(xy[:, 1]) == [point.value for point in SORENESS]
    assert line.get_marker() not in (None, "None", "", " "), "each report has a marker"


def test_each_exercise_day_is_a_marker_of_its_result_on_its_local_date_below_the_scores():
    figure = build_figure(FULL)
    zone = ZoneInfo(BERLIN)
    for result in ("done", "skipped", "too_sore"):
        (markers,) = artists(figure, SESSION_GID_PREFIX + result)
        offsets = markers.get_offsets()
        local_dates = [instant.astimezone(zone).date() for instant in instants(offsets[:, 0])]
        assert local_dates == [day.local_date for day in SESSIONS if day.result == result]
        assert all(y < 0 for y in offsets[:, 1]), "along the bottom, under soreness 0"
    labels = {text.get_text() for text in figure.legends[0].get_texts()}
    assert {"Exercises done", "Exercises skipped", "Too sore for exercises"} <= labels


def test_each_assessment_is_a_vertical_line_labelled_with_its_outcome():
    figure = build_figure(FULL)
    lines = artists(figure, ASSESSMENT_GID)
    for line, mark in zip(lines, ASSESSMENTS, strict=True):
        assert_same_instants(instants(line.get_xdata()), [mark.at, mark.at])
    labels = [text.get_text() for text in main_axes(figure).texts]
    assert labels == ["Home care", "See a clinician"]


def test_the_plan_phase_is_a_step_line_that_holds_the_last_phase_to_the_edge():
    figure = build_figure(FULL)
    (line,) = artists(figure, PHASE_GID)
    assert line.get_drawstyle() == "steps-post"
    xy = line.get_xydata()
    assert_same_instants(instants(xy[:-1, 0]), [change.at for change in PHASES])
    assert list(xy[:, 1]) == [1, 2, 2]
    assert xy[-1, 0] == pytest.approx(main_axes(figure).get_xlim()[1])


def test_the_time_axis_is_in_the_runners_zone():
    """Day ticks fall on local midnight: in Auckland (UTC+13) that is 11:00 UTC."""
    auckland = ZoneInfo("Pacific/Auckland")
    data = ProgressData(zone="Pacific/Auckland", soreness=SORENESS)
    figure = build_figure(data)
    figure.canvas.draw()
    ticks = [num2date(x).astimezone(auckland) for x in main_axes(figure).get_xticks()]
    assert ticks, "the axis has ticks"
    assert all((tick.hour, tick.minute) == (0, 0) for tick in ticks), ticks
    assert "Pacific/Auckland" in main_axes(figure).get_xlabel()


def test_the_chart_has_a_title_and_axis_labels():
    axes = main_axes(build_figure(FULL))
    assert axes.get_title()
    assert "Soreness" in axes.get_ylabel()
    assert BERLIN in axes.get_xlabel()


def pseudo(message_id: str) -> str:
    """A stand-in translation that shows whether a word went through it."""
    return f"[{message_id}]"


def test_every_word_on_the_chart_goes_through_the_translation_given():
    figure = build_figure(FULL, gettext=pseudo)
    axes = main_axes(figure)
    (phase_axes,) = (other for other in figure.axes if other is not axes)
    words = [
        axes.get_title(),
        axes.get_ylabel(),
        axes.get_xlabel(),
        phase_axes.get_ylabel(),
        *(text.get_text() for text in axes.texts),
        *(text.get_text() for text in figure.legends[0].get_texts()),
    ]
    assert all(word.startswith("[") and word.endswith("]") for word in words), words
    assert axes.get_xlabel() == f"[Date ({BERLIN} time)]"
    phases = [label.get_text() for label in phase_axes.get_yticklabels()]
    assert phases == ["1 [mobility]", "2 [strength]", "3 [balance]", "4 [hopping]"]
    empty = main_axes(build_figure(ProgressData(zone="UTC"), gettext=pseudo))
    assert [text.get_text() for text in empty.texts] == ["[Nothing recorded yet]"]


# --- the summary ----------------------------------------------------------------------------------


def test_the_summary_counts_reports_sessions_and_says_where_things_stand():
    now = START + 9 * DAY
    assert summary(FULL, now=now) == {
        "reports": 5,
        "first_soreness": 6,
        "first_at": START,
        "latest_soreness": 2,
        "latest_at": SORENESS[-1].at,
        "trend": "better",
        "sessions_done": 3,
        "sessions_skipped": 1,
        "sessions_too_sore": 1,
        "current_phase": 2,
        "last_disposition": "SEE_CLINICIAN",
        # The first thing recorded is the assessment, 10 minutes before START.
        "days_tracked": 9,
        "programme": None,
    }


@pytest.mark.parametrize(
    ("first", "latest", "trend"), [(6, 2, "better"), (4, 4, "same"), (2, 5, "worse")]
)
def test_the_trend_compares_the_latest_score_with_the_first(first: int, latest: int, trend: str):
    points = (
        SorenessPoint(START, first, "report"),
        SorenessPoint(START + DAY, 9, "report"),
        SorenessPoint(START + 2 * DAY, latest, "report"),
    )
    data = ProgressData(zone="UTC", soreness=points)
    assert summary(data, now=START + 3 * DAY)["trend"] == trend


def test_one_report_has_no_trend_and_nothing_recorded_has_no_figures():
    one = ProgressData(zone="UTC", soreness=(SorenessPoint(START, 3, "report"),))
    assert summary(one, now=START)["trend"] is None
    assert summary(ProgressData(zone="UTC"), now=START) == {
        "reports": 0,
        "first_soreness": None,
        "first_at": None,
        "latest_soreness": None,
        "latest_at": None,
        "trend": None,
        "sessions_done": 0,
        "sessions_skipped": 0,
        "sessions_too_sore": 0,
        "current_phase": None,
        "last_disposition": None,
        "days_tracked": None,
        "programme": None,
    }


# --- reading the database -------------------------------------------------------------------------


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def db(request: pytest.FixtureRequest) -> Iterator[Database]:
    """A threaded Database on a freshly migrated schema, once per backend."""
    database = Database.for_url(request.getfixturevalue(f"{request.param}_url"))
    upgrade_to_head(database.engine)
    yield database
    database.dispose_sync()


def seed(session: Session, *, chat_id: int, zone: str | None) -> int:
    """A runner with two assessments, two episodes (the second moving up a phase), soreness
    reports and exercise days, some written out of order."""
    runner = make_runner(session, chat_id=chat_id, user_id=None, first_name=None, now=START)
    session.flush()
    if zone is not None:
        followup_store.update_runner_settings(session, runner_id=runner.id, now=START, zone=zone)
    for at, disposition in ((START + 4 * DAY, "SEE_CLINICIAN"), (START, "HOME_CARE")):
        store.record_assessment(
            session,
            runner_id=runner.id,
            answers={},
            disposition=disposition,
            reasons=[],
            care_path="sprain",
            rules_version="2026.1",
            plyometric_gate_open=False,
            started_at=at - HOUR,
            completed_at=at,
        )
    first = followup_store.open_episode(
        session,
        runner_id=runner.id,
        assessment_id=None,
        disposition="HOME_CARE",
        location="outside",
        pain_at_assessment=6,
        care_path="sprain",
        assessed_at=START,
        phase=1,
        now=START,
    )
    second = followup_store.open_episode(
        session,
        runner_id=runner.id,
        assessment_id=None,
        disposition="HOME_CARE",
        location="outside",
        pain_at_assessment=5,
        care_path="sprain",
        assessed_at=START + 4 * DAY,
        phase=2,
        now=START + 4 * DAY,
    )
    # The second episode moved up a phase; its episode row keeps only the phase it is in now.
    followup_store.update_episode(session, episode_id=second, now=START + 6 * DAY, phase=3)
    followup_store.record_plan_event(
        session,
        runner_id=runner.id,
        episode_id=second,
        at=START + 6 * DAY,
        kind="phase",
        data={"from": 2, "to": 3, "reason": "good days"},
    )
    followup_store.record_plan_event(
        session,
        runner_id=runner.id,
        episode_id=second,
        at=START + 6 * DAY,
        kind="readiness",
        data={"results": {}, "ready": False},
    )
    for point in reversed(SORENESS):
        followup_store.record_soreness(
            session,
            runner_id=runner.id,
            episode_id=first,
            at=point.at,
            value=point.value,
            source=point.source,
        )
    for day in reversed(SESSIONS):
        followup_store.log_exercise(
            session,
            runner_id=runner.id,
            episode_id=first,
            local_date=day.local_date,
            result=day.result,
            at=START,
        )
    return runner.id


def test_load_progress_reads_the_runners_history_oldest_first(db: Database):
    runner_id = db.run_sync(seed, chat_id=1, zone=BERLIN)
    db.run_sync(seed, chat_id=2, zone=None)

    data = db.run_sync(load_progress, runner_id=runner_id)

    assert data == ProgressData(
        zone=BERLIN,
        soreness=SORENESS,
        sessions=SESSIONS,
        phase_changes=(
            PhaseChange(START, 1),
            PhaseChange(START + 4 * DAY, 2),
            PhaseChange(START + 6 * DAY, 3),
        ),
        assessments=(
            AssessmentMark(START, "HOME_CARE"),
            AssessmentMark(START + 4 * DAY, "SEE_CLINICIAN"),
        ),
    )


def test_a_runner_without_a_zone_is_charted_in_utc(db: Database):
    runner_id = db.run_sync(seed, chat_id=1, zone=None)
    assert db.run_sync(load_progress, runner_id=runner_id).zone == "UTC"


def test_a_runner_with_nothing_recorded_has_nothing_to_plot(db: Database):
    runner_id = db.run_sync(make_runner, chat_id=7, user_id=None, first_name=None, now=START).id
    data = db.run_sync(load_progress, runner_id=runner_id)
    assert data == ProgressData(zone="UTC")
    assert not has_anything(data)


def test_the_summary_gives_the_balance_programmes_adherence_in_the_runners_days():
    from dataclasses import replace

    from flows.profile import ProgrammeView

    programme = ProgrammeView(
        started_at=datetime(2026, 3, 16, 17, tzinfo=UTC),
        first_day=date(2026, 3, 16),
        status="active",
        sessions=((date(2026, 3, 16), "done"), (date(2026, 3, 18), "skipped")),
    )
    data = ProgressData(zone="Pacific/Auckland", programme=programme)
    # 23:30 UTC on the 19th is already Friday the 20th, a session day, in Auckland: not
    # counted until it is logged or over.
    figures = summary(data, now=datetime(2026, 3, 19, 23, 30, tzinfo=UTC))["programme"]
    assert (figures["done"], figures["planned"], figures["percent"]) == (1, 2, 50)
    assert figures["published_percent"] == 73
    stopped = ProgressData(zone="UTC", programme=replace(programme, status="stopped"))
    assert summary(stopped, now=datetime(2026, 3, 19, tzinfo=UTC))["programme"] is None
