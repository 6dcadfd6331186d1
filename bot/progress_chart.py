"""The /progress chart drawn: a runner's soreness, exercise days, assessments and plan phase.

Works on the `ProgressData` that `bot.db.progress_store.load_progress` reads, and never on the
database itself. `summary` gives the figures for the text sent beside the chart;
`progress_to_json` and `progress_from_json` let the data wait in the outbox as JSON until the
chart is sent; `build_figure` draws it (soreness 0-10 as a line with markers, each day's
exercises as a coloured marker along the bottom, assessment outcomes as labelled vertical lines,
the plan phase as a step line on a second axis), with the time axis in the runner's own time
zone, and `render_png` turns that into PNG bytes. Every word on the chart is marked with `N_`
and passed through the `gettext` the caller gives (English as it is by default). Drawing uses
a bare `Figure` on the Agg canvas, never pyplot: pyplot keeps global state and is not
thread-safe, and the chart is drawn in a worker thread. Instants are plotted as true instants
(`matplotlib.dates.date2num` of aware datetimes), and only the tick locator and formatter work
in the runner's zone, so `num2date` on a plotted point gives back the instant that was stored.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from bot.db.progress_store import (
    AssessmentMark,
    ExerciseDay,
    PhaseChange,
    ProgressData,
    SorenessPoint,
)
from flows import prevention
from flows.types import Disposition, ExerciseResult, Phase, ProgrammeStatus, Trend
from flows.words import N_

Gettext = Callable[[str], str]


def _identity(message_id: str) -> str:
    return message_id


# 8 x 5 in at 120 dpi: 960 x 600 px, readable on a phone without zooming.
FIGURE_SIZE = (8.0, 5.0)
DPI = 120

# By the disposition code an assessment stores (`Disposition.code`).
DISPOSITION_LABELS = {
    Disposition.HOME_CARE.code: N_("Home care"),
    Disposition.SEE_CLINICIAN.code: N_("See a clinician"),
    Disposition.EMERGENCY.code: N_("Emergency"),
}
DISPOSITION_COLOURS = {
    Disposition.HOME_CARE.code: "#2e7d32",
    Disposition.SEE_CLINICIAN.code: "#ef6c00",
    Disposition.EMERGENCY.code: "#c62828",
}
SESSION_STYLES = {
    ExerciseResult.DONE.value: (N_("Exercises done"), "#2e7d32", "o"),
    ExerciseResult.SKIPPED.value: (N_("Exercises skipped"), "#9e9e9e", "s"),
    ExerciseResult.TOO_SORE.value: (N_("Too sore for exercises"), "#c62828", "X"),
}
# The phase axis reads "1 mobility", "2 strength"...: the number, then the phase's name.
PHASE_NAMES = {
    Phase.MOBILITY: N_("mobility"),
    Phase.STRENGTH: N_("strength"),
    Phase.BALANCE: N_("balance"),
    Phase.PLYOMETRIC: N_("hopping"),
}
TITLE = N_("Your ankle: soreness and exercise plan")
SORENESS_AXIS_LABEL = N_("Soreness (0-10)")
# %(zone)s is the runner's time zone name, such as "Europe/Berlin" (the same placeholders as
# the templates, which translations keep).
DATE_AXIS_LABEL = N_("Date (%(zone)s time)")
NOTHING_YET = N_("Nothing recorded yet")
SORENESS_LEGEND = N_("Soreness")
PHASE_AXIS_LABEL = N_("Exercise plan phase")
PHASE_LEGEND = N_("Plan phase")
ASSESSMENT_LEGEND = N_("Assessment")
SORENESS_COLOUR = "#1565c0"
PHASE_COLOUR = "#7b1fa2"

# Exercise days sit below the 0 of the soreness scale, in a band of their own.
SESSION_ROW_Y = -1.2
SORENESS_AXIS_LIMITS = (-2.0, 10.6)
PHASE_AXIS_LIMITS = (0.5, 4.5)

# A day's exercises are drawn at local noon: the middle of the day they belong to.
SESSION_TIME_OF_DAY = time(12, 0)

# Room left either side of the data, so the first and last markers are not cut in half.
MIN_MARGIN = timedelta(hours=12)
SINGLE_INSTANT_MARGIN = timedelta(days=1)

# Artist ids, so tests and callers can find each part of the chart.
SORENESS_GID = "soreness"
PHASE_GID = "phase"
ASSESSMENT_GID = "assessment"
SESSION_GID_PREFIX = "sessions:"


# --- what there is to say -------------------------------------------------------------------------


def has_anything(data: ProgressData) -> bool:
    """Whether there is anything to plot (False: say "nothing to plot yet" instead)."""
    return bool(data.soreness or data.sessions or data.phase_changes or data.assessments)


def summary(data: ProgressData, *, now: datetime) -> dict[str, Any]:
    """The figures for the text beside the chart.

    `trend` compares the latest soreness score with the first (None with fewer than two);
    `days_tracked` counts whole days from the first thing recorded to `now` (None when nothing
    is); `current_phase` is the phase after the latest phase change.
    """
    first = data.soreness[0] if data.soreness else None
    latest = data.soreness[-1] if data.soreness else None
    counts = {result.value: 0 for result in ExerciseResult}
    for day in data.sessions:
        counts[day.result] = counts.get(day.result, 0) + 1
    started = min(_instants(data), default=None)
    return {
        "reports": len(data.soreness),
        "first_soreness": first.value if first else None,
        "first_at": first.at if first else None,
        "latest_soreness": latest.value if latest else None,
        "latest_at": latest.at if latest else None,
        "trend": _trend(first.value, latest.value) if len(data.soreness) >= 2 else None,
        "sessions_done": counts[ExerciseResult.DONE.value],
        "sessions_skipped": counts[ExerciseResult.SKIPPED.value],
        "sessions_too_sore": counts[ExerciseResult.TOO_SORE.value],
        "current_phase": data.phase_changes[-1].phase if data.phase_changes else None,
        "last_disposition": data.assessments[-1].disposition if data.assessments else None,
        "days_tracked": (now - started).days if started is not None else None,
        "programme": _programme_summary(data, now=now),
    }


def _programme_summary(data: ProgressData, *, now: datetime) -> dict[str, Any] | None:
    """Sessions done out of those planned so far in the balance programme (None without one
    that runs or ran to its end)."""
    programme = data.programme
    if programme is None or programme.status != ProgrammeStatus.ACTIVE:
        return None
    figures = prevention.adherence(programme, now.astimezone(_zone(data.zone)).date())
    return {
        "done": figures.done,
        "planned": figures.planned,
        "percent": figures.percent,
        "published_percent": prevention.PUBLISHED_ADHERENCE_PERCENT,
    }


# --- drawing --------------------------------------------------------------------------------------


def build_figure(data: ProgressData, *, gettext: Gettext = _identity) -> Figure:
    """The progress chart, its words translated by `gettext`; with nothing recorded, a chart
    that says so."""
    figure = Figure(figsize=FIGURE_SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    zone = _zone(data.zone)
    axes = figure.add_subplot()
    axes.set_title(gettext(TITLE), fontsize=14)
    axes.set_ylabel(gettext(SORENESS_AXIS_LABEL), fontsize=12)
    axes.set_xlabel(gettext(DATE_AXIS_LABEL) % {"zone": zone}, fontsize=11)
    axes.set_ylim(*SORENESS_AXIS_LIMITS)
    axes.set_yticks(range(0, 11, 2))
    axes.grid(axis="y", alpha=0.3)
    axes.tick_params(labelsize=10)
    if not has_anything(data):
        axes.text(
            0.5,
            0.5,
            gettext(NOTHING_YET),
            transform=axes.transAxes,
            ha="center",
            va="center",
            fontsize=14,
            color="#616161",
        )
        axes.set_xticks([])
        return figure

    start, end = _x_range(data)
    # Phases first, so that the twin axes they need sits behind everything drawn after.
    phase_line = (
        _draw_phases(axes, data.phase_changes, end=end, gettext=gettext)
        if data.phase_changes
        else None
    )
    for mark in data.assessments:
        _draw_assessment(axes, mark, gettext=gettext)
    handles: list[Any] = []
    if data.soreness:
        handles.append(_draw_soreness(axes, data.soreness, gettext=gettext))
    if phase_line is not None:
        handles.append(phase_line)
    handles.extend(_draw_sessions(axes, data.sessions, zone, gettext=gettext))
    if data.assessments:
        legend = gettext(ASSESSMENT_LEGEND)
        handles.append(Line2D([], [], color="#616161", linestyle="--", label=legend))

    axes.set_xlim(date2num(start), date2num(end))
    locator = AutoDateLocator(tz=zone, minticks=3, maxticks=8)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=zone))
    figure.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=10)
    return figure


def progress_to_json(data: ProgressData) -> dict[str, Any]:
    """The chart's data as JSON, so that a chart can wait in the outbox and be drawn when sent."""
    return {
        "zone": data.zone,
        "soreness": [[p.at.isoformat(), p.value, p.source] for p in data.soreness],
        "sessions": [[d.local_date.isoformat(), d.result] for d in data.sessions],
        "phase_changes": [[c.at.isoformat(), c.phase] for c in data.phase_changes],
        "assessments": [[a.at.isoformat(), a.disposition] for a in data.assessments],
    }


def progress_from_json(data: dict[str, Any]) -> ProgressData:
    """`progress_to_json` read back."""
    return ProgressData(
        zone=data["zone"],
        soreness=tuple(
            SorenessPoint(datetime.fromisoformat(at), value, source)
            for at, value, source in data["soreness"]
        ),
        sessions=tuple(
            ExerciseDay(date.fromisoformat(day), result) for day, result in data["sessions"]
        ),
        phase_changes=tuple(
            PhaseChange(datetime.fromisoformat(at), phase) for at, phase in data["phase_changes"]
        ),
        assessments=tuple(
            AssessmentMark(datetime.fromisoformat(at), disposition)
            for at, disposition in data["assessments"]
        ),
    )


def render_png(data: ProgressData, *, gettext: Gettext = _identity) -> bytes:
    """The progress chart as PNG bytes, its words translated by `gettext`."""
    figure = build_figure(data, gettext=gettext)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def session_instant(local_date: date, zone: tzinfo) -> datetime:
    """Where a day's exercises are drawn: noon of that date in the runner's zone."""
    return datetime.combine(local_date, SESSION_TIME_OF_DAY, tzinfo=zone)


# --- helpers -------------------------------------------------------------------------------------


def _draw_soreness(axes: Axes, points: Iterable[SorenessPoint], *, gettext: Gettext) -> Line2D:
    points = list(points)
    (line,) = axes.plot(
        date2num([point.at for point in points]),
        [point.value for point in points],
        color=SORENESS_COLOUR,
        marker="o",
        markersize=7,
        linewidth=2.2,
        label=gettext(SORENESS_LEGEND),
        zorder=3,
    )
    line.set_gid(SORENESS_GID)
    return line


def _draw_sessions(
    axes: Axes, days: Iterable[ExerciseDay], zone: tzinfo, *, gettext: Gettext
) -> list[Any]:
    by_result: dict[str, list[date]] = {}
    for day in days:
        by_result.setdefault(day.result, []).append(day.local_date)
    handles = []
    for result, (label, colour, marker) in SESSION_STYLES.items():
        dates = by_result.get(result)
        if not dates:
            continue
        collection = axes.scatter(
            date2num([session_instant(day, zone) for day in dates]),
            [SESSION_ROW_Y] * len(dates),
            color=colour,
            marker=marker,
            s=60,
            label=gettext(label),
            zorder=3,
        )
        collection.set_gid(SESSION_GID_PREFIX + result)
        handles.append(collection)
    return handles


def _draw_assessment(axes: Axes, mark: AssessmentMark, *, gettext: Gettext) -> None:
    colour = DISPOSITION_COLOURS.get(mark.disposition, "#616161")
    x = date2num(mark.at)
    line = axes.axvline(x, color=colour, linestyle="--", linewidth=1.5, zorder=2)
    line.set_gid(ASSESSMENT_GID)
    # An unknown code is shown as it is: there is no word for it to translate.
    known = DISPOSITION_LABELS.get(mark.disposition)
    label = gettext(known) if known is not None else mark.disposition
    axes.text(
        x,
        SORENESS_AXIS_LIMITS[1] - 0.2,
        label,
        rotation=90,
        ha="right",
        va="top",
        fontsize=10,
        color=colour,
    )


def _draw_phases(
    axes: Axes, changes: tuple[PhaseChange, ...], *, end: datetime, gettext: Gettext
) -> Line2D:
    phase_axes = axes.twinx()
    phase_axes.set_ylim(*PHASE_AXIS_LIMITS)
    phase_axes.set_yticks(
        [phase.value for phase in Phase],
        [f"{phase.value} {gettext(PHASE_NAMES[phase])}" for phase in Phase],
    )
    phase_axes.set_ylabel(gettext(PHASE_AXIS_LABEL), fontsize=12, color=PHASE_COLOUR)
    phase_axes.tick_params(labelsize=10, colors=PHASE_COLOUR)
    # Steps hold each phase until the next change; the last one holds to the chart's edge.
    instants = [change.at for change in changes] + [end]
    phases = [change.phase for change in changes] + [changes[-1].phase]
    (line,) = phase_axes.plot(
        date2num(instants),
        phases,
        drawstyle="steps-post",
        color=PHASE_COLOUR,
        linewidth=2,
        alpha=0.55,
        label=gettext(PHASE_LEGEND),
    )
    line.set_gid(PHASE_GID)
    # The twin axes is drawn over the first; put the soreness back in front of it.
    axes.set_zorder(phase_axes.get_zorder() + 1)
    axes.patch.set_visible(False)
    return line


def _instants(data: ProgressData) -> list[datetime]:
    zone = _zone(data.zone)
    return [
        *(point.at for point in data.soreness),
        *(session_instant(day.local_date, zone) for day in data.sessions),
        *(change.at for change in data.phase_changes),
        *(mark.at for mark in data.assessments),
    ]


def _x_range(data: ProgressData) -> tuple[datetime, datetime]:
    instants = _instants(data)
    first, last = min(instants), max(instants)
    span = last - first
    margin = SINGLE_INSTANT_MARGIN if not span else max(span * 0.05, MIN_MARGIN)
    return first - margin, last + margin


def _trend(first: int, latest: int) -> str:
    if latest < first:
        return Trend.BETTER.value
    if latest > first:
        return Trend.WORSE.value
    return Trend.SAME.value


def _zone(name: str) -> tzinfo:
    # Zones are checked when the runner picks one; a zone since removed from tzdata should
    # still give a chart, in UTC, rather than no chart at all.
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC
