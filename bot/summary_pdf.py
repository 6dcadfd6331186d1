"""The /summary PDF drawn: one A4 page a runner can hand to a doctor or physiotherapist.

Works on the `SummaryData` that `bot.db.summary_store.load_summary` reads, never on the
database. `summary_to_json` turns it, with the figures that depend on the day (exercise days
done out of those planned, the balance programme's sessions), into plain JSON that waits in the
outbox; `render_pdf` draws the page from that JSON in the runner's locale when it is sent, in
a worker thread like the progress chart. The page says who (first name only), when (the
assessment's date in the runner's zone), the result with every rule that fired in its own
what/why wording and the rules version, the care path, the answers as question -> answer in the
bot's own words (the question templates' `question` block and the choices' labels, through the
catalogue), the plan phase and adherence, the soreness chart (`bot.progress_chart`) and the
"not a diagnosis" line. Every word is a catalogue message. The text is set in DejaVu Sans, the
font matplotlib ships (Bitstream Vera / DejaVu licence, in matplotlib's mpl-data): fpdf2's core
fonts stop at Latin-1, and a translation may need more.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import matplotlib
from babel.dates import format_datetime
from fpdf import FPDF
from fpdf.enums import TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace

from bot import i18n, progress_chart, render
from bot.db.summary_store import SummaryData
from flows import prevention
from flows.advice import reason_items
from flows.questions import PAIN_CHOICES
from flows.rules import Decision
from flows.triage import QUESTIONS, answers_of
from flows.types import PAIN_MAX, CarePath, Disposition, ExerciseResult, Phase, ProgrammeStatus
from flows.words import N_

Gettext = Callable[[str], str]

FILENAME = "ankle-summary.pdf"
FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT = "DejaVu"
# Where the rules' sources are listed: a path in the project, the same in every language.
SOURCES_FILE = "docs/clinical-basis.md"
DISCLAIMER_TEMPLATE = "triage/_disclaimer.j2"

TITLE = N_("Ankle summary for a doctor or physiotherapist")
RUNNER = N_("Runner: %(name)s")
NO_NAME = N_("Runner: no name given")
# %(when)s is a date and time, %(zone)s the runner's time zone name such as "Europe/Berlin".
ASSESSED = N_("Assessment: %(when)s (%(zone)s time)")
NO_ASSESSMENT = N_("No assessment has been finished yet.")
RESULT = N_("Result: %(disposition)s")
REASONS = N_("Why (the rules that applied):")
NO_REASONS = N_("None of the warning signs asked about applied.")
SOURCES = N_("Rules version %(version)s; sources: %(sources)s of the project.")
PATH = N_("Care path: the answers fit %(path)s.")
ANSWERS = N_("The runner's answers")
QUESTION = N_("Question")
ANSWER = N_("Answer")
PLAN = N_("Exercise plan")
PHASE = N_("Phase %(phase)s of 4: %(name)s.")
EXERCISE_DAYS = N_(
    "Exercise days done: %(done)s of %(planned)s since the plan began "
    "(%(skipped)s skipped, %(too_sore)s too sore)."
)
NO_PLAN = N_("No home exercise plan: the advice was to be seen first.")
PROGRAMME = N_("Balance programme: %(done)s of %(planned)s sessions done so far.")
TREND = N_("Soreness trend")
SORENESS = N_("Soreness from 0 to 10: %(first)s at first, %(latest)s now, over %(reports)s scores.")
NO_SORENESS = N_("No soreness scores yet.")
MADE_BY = N_("Made by an ankle chatbot from the runner's own answers.")

# The same words as the home-care outcome's "your answers fit ..." (outcome_home_care.j2).
PATH_WORDS = {
    CarePath.SPRAIN: N_("a sprain or a knock"),
    CarePath.INSTABILITY: N_("an ankle that keeps giving way, or a sprain that has not settled"),
    CarePath.ACHILLES_MID: N_("an overloaded Achilles tendon, in the cord above the heel"),
    CarePath.ACHILLES_INSERTION: N_("an overloaded Achilles tendon, where it meets the heel bone"),
    CarePath.PERONEAL: N_("an overloaded tendon on the outside of the ankle (peroneal)"),
    CarePath.TIBIALIS_POSTERIOR: N_(
        "an overloaded tendon on the inside of the ankle (tibialis posterior)"
    ),
    CarePath.TIBIALIS_ANTERIOR: N_(
        "an overloaded tendon at the front of the ankle (tibialis anterior)"
    ),
    CarePath.BONE_STRESS: N_(
        "an overuse problem I cannot pin down, so I treat it as a possible bone stress injury"
    ),
    CarePath.HEEL: N_("plantar heel pain (the band under the foot)"),
    CarePath.CALF_TEAR: N_("a strain of the calf or the Achilles"),
}

# Page geometry, in millimetres (A4 portrait).
MARGIN = 12.0
PAGE_WIDTH = 210.0
PAGE_HEIGHT = 297.0
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
QUESTION_WIDTH = 0.74 * CONTENT_WIDTH
FOOTER_TOP = PAGE_HEIGHT - MARGIN - 14.0
# The soreness chart, top right, in its own 8:5 shape.
CHART_WIDTH = 88.0
CHART_GAP = 4.0
# The answers' type sizes, tried largest first until the page holds them (points).
ANSWER_FONT_SIZES = (7.5, 7.0, 6.5, 6.0, 5.5)
CHART_RATIO = progress_chart.FIGURE_SIZE[1] / progress_chart.FIGURE_SIZE[0]

_TAG = re.compile(r"<[^>]+>")


# --- what the page says, as JSON -----------------------------------------------------------------


def summary_to_json(data: SummaryData, *, now: datetime) -> dict[str, Any]:
    """The page's data as JSON, with the figures of the day `now` (the runner's local date)."""
    zone = ZoneInfo(data.zone)
    today = now.astimezone(zone).date()
    assessment = data.assessment
    return {
        "first_name": data.first_name,
        "zone": data.zone,
        "assessment": None
        if assessment is None
        else {
            "completed_at": assessment.completed_at.isoformat(),
            "answers": dict(assessment.answers),
            "disposition": assessment.disposition,
            "reasons": list(assessment.reasons),
            "rules_version": assessment.rules_version,
            "care_path": assessment.care_path,
        },
        "plan": _plan_figures(data, today=today),
        "programme": _programme_figures(data, today=today),
        "chart": progress_chart.progress_to_json(data.progress),
        # The PDF's creation time, so that one summary always renders to the same bytes
        # (the outbox draws it again on a retry).
        "made_at": now.isoformat(),
    }


def _plan_figures(data: SummaryData, *, today: date) -> dict[str, Any] | None:
    """The phase and exercise days of the assessment's episode; a day is planned once it has
    passed, or today once it is logged (as the balance programme counts its sessions)."""
    plan = data.plan
    if plan is None:
        return None
    counts = {result.value: 0 for result in ExerciseResult}
    for day in plan.days:
        counts[day.result] = counts.get(day.result, 0) + 1
    first = plan.started_at.astimezone(ZoneInfo(data.zone)).date()
    logged_today = any(day.local_date == today for day in plan.days)
    planned = max((today - first).days + (1 if logged_today else 0), 0)
    return {
        "has_plan": plan.disposition == Disposition.HOME_CARE.code,
        "phase": plan.phase,
        "done": counts[ExerciseResult.DONE.value],
        "skipped": counts[ExerciseResult.SKIPPED.value],
        "too_sore": counts[ExerciseResult.TOO_SORE.value],
        "planned": max(planned, counts[ExerciseResult.DONE.value]),
    }


def _programme_figures(data: SummaryData, *, today: date) -> dict[str, int] | None:
    programme = data.progress.programme
    if programme is None or programme.status != ProgrammeStatus.ACTIVE:
        return None
    figures = prevention.adherence(programme, today)
    return {"done": figures.done, "planned": figures.planned}


# --- the page's words ----------------------------------------------------------------------------


def plain(telegram_html: str) -> str:
    """Telegram HTML as plain text: tags dropped, entities decoded, spaces tidied."""
    return re.sub(r"[ \t]+", " ", html.unescape(_TAG.sub("", telegram_html))).strip()


def question_text(template: str, *, locale: str) -> str:
    """A triage question in the runner's words: its template's `question` block, first line
    (the Ottawa question's list of bony spots stays in the chat)."""
    compiled = render.environment(locale).get_template(template)
    block = "".join(compiled.blocks["question"](compiled.new_context({})))
    return plain(block).splitlines()[0].strip()


def answer_rows(answers: dict[str, str], *, locale: str) -> list[tuple[str, str]]:
    """(question, answer) in the runner's words, in the order they were answered; steps this
    version no longer asks are left out rather than shown as codes."""
    gettext = i18n.gettext(locale)
    rows = []
    for step, value in answers.items():
        question = QUESTIONS.get(step)
        if question is None:
            continue
        label = next((c.label for c in question.choices if c.value == value), None)
        if label is None:
            continue
        # A pain score is a number: "4/10" in every language.
        answer = f"{label}/{PAIN_MAX}" if question.choices is PAIN_CHOICES else gettext(label)
        rows.append((question_text(question.template, locale=locale), answer))
    return rows


def reason_lines(assessment: dict[str, Any], *, gettext: Gettext) -> list[str]:
    """Each rule that fired as "code: what (why)", worded as the outcome message words it."""
    answers = answers_of(assessment["answers"])
    decision = Decision(Disposition[assessment["disposition"]], tuple(assessment["reasons"]), ())
    return [
        f"{item['code']}: {gettext(item['what'])} ({gettext(item['why'])})"
        for item in reason_items(answers, decision)
    ]


def when_text(instant: str, zone: str, *, locale: str) -> str:
    local = datetime.fromisoformat(instant).astimezone(ZoneInfo(zone))
    return format_datetime(local, "d MMM yyyy, HH:mm", locale=locale)


# --- drawing -------------------------------------------------------------------------------------


class _Page(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.set_margins(MARGIN, MARGIN, MARGIN)
        # One page by design: the chart shrinks to the room left instead of a page break.
        self.set_auto_page_break(False)
        self.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.add_page()
        # Text runs this wide (narrower beside the chart).
        self.text_width = CONTENT_WIDTH

    def heading(self, text: str, size: float = 10.5) -> None:
        self.set_font(FONT, "B", size)
        self.multi_cell(self.text_width, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(0.8)

    def line(self, text: str, size: float = 9.0, style: str = "") -> None:
        self.set_font(FONT, style, size)
        self.multi_cell(self.text_width, size * 0.48, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(0.6)


def render_pdf(summary: dict[str, Any], *, locale: str = i18n.SOURCE_LOCALE) -> bytes:
    """The summary page as PDF bytes, every word in `locale` (a shipped locale or a Telegram
    language code). Drawn with the answers at their largest size that keeps them off the
    footer, so that it stays one page in a wordier language too."""
    locale = i18n.locale_for(locale)
    gettext = i18n.gettext(locale)
    chart = progress_chart.progress_from_json(summary["chart"])
    png = progress_chart.render_png(chart, gettext=gettext) if chart.soreness else None
    for size in ANSWER_FONT_SIZES:
        page = _draw(summary, png, answer_size=size, locale=locale, gettext=gettext)
        if page.get_y() <= FOOTER_TOP:
            break
    if "made_at" in summary:
        page.set_creation_date(datetime.fromisoformat(summary["made_at"]))
    return bytes(page.output())


def _draw(
    summary: dict[str, Any],
    png: bytes | None,
    *,
    answer_size: float,
    locale: str,
    gettext: Gettext,
) -> _Page:
    """The page, its answers set at `answer_size`; the page ends where the answers do (the
    footer is placed at the bottom whatever the height)."""
    page = _Page()
    page.set_title(gettext(TITLE))
    page.heading(gettext(TITLE), size=14)
    top = page.get_y()
    if png is not None:
        # The verdict, path, plan and trend run beside the chart, at the top right.
        page.image(png, x=PAGE_WIDTH - MARGIN - CHART_WIDTH, y=top, w=CHART_WIDTH)
        page.text_width = CONTENT_WIDTH - CHART_WIDTH - CHART_GAP
    name = summary.get("first_name")
    page.line(gettext(RUNNER) % {"name": name} if name else gettext(NO_NAME))
    assessment = summary.get("assessment")
    if assessment is None:
        page.line(gettext(NO_ASSESSMENT), style="B")
    else:
        _verdict(page, assessment, zone=summary["zone"], locale=locale, gettext=gettext)
    _plan(page, summary, gettext=gettext)
    _trend(page, summary, gettext=gettext)
    chart_bottom = top + CHART_WIDTH * CHART_RATIO if png is not None else top
    page.set_y(max(page.get_y(), chart_bottom) + 1)
    page.text_width = CONTENT_WIDTH
    if assessment is not None:
        _reasons(page, assessment, gettext=gettext)
        _answers(page, assessment, size=answer_size, locale=locale, gettext=gettext)
    end = page.get_y()
    _footer(page, locale=locale, gettext=gettext)
    page.set_y(end)
    return page


def _verdict(
    page: _Page, assessment: dict[str, Any], *, zone: str, locale: str, gettext: Gettext
) -> None:
    when = when_text(assessment["completed_at"], zone, locale=locale)
    page.line(gettext(ASSESSED) % {"when": when, "zone": zone})
    label = progress_chart.DISPOSITION_LABELS.get(assessment["disposition"], "")
    page.heading(gettext(RESULT) % {"disposition": gettext(label)}, size=12)
    path = PATH_WORDS.get(CarePath(assessment["care_path"]))
    if path is not None:
        page.line(gettext(PATH) % {"path": gettext(path)}, size=8.5)
    page.ln(1)


def _reasons(page: _Page, assessment: dict[str, Any], *, gettext: Gettext) -> None:
    reasons = reason_lines(assessment, gettext=gettext)
    page.line(gettext(REASONS) if reasons else gettext(NO_REASONS), size=8.5, style="B")
    for reason in reasons:
        page.line(f"• {reason}", size=8)
    version = {"version": assessment["rules_version"], "sources": SOURCES_FILE}
    page.line(gettext(SOURCES) % version, size=7)
    page.ln(1)


def _answers(
    page: _Page, assessment: dict[str, Any], *, size: float, locale: str, gettext: Gettext
) -> None:
    page.heading(gettext(ANSWERS), size=10)
    page.set_font(FONT, "", size)
    with page.table(
        col_widths=(QUESTION_WIDTH, CONTENT_WIDTH - QUESTION_WIDTH),
        width=CONTENT_WIDTH,
        line_height=size * 0.42,
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        headings_style=FontFace(emphasis="BOLD"),
        first_row_as_headings=True,
        padding=0.5,
    ) as table:
        header = table.row()
        header.cell(gettext(QUESTION))
        header.cell(gettext(ANSWER))
        for question, answer in answer_rows(assessment["answers"], locale=locale):
            row = table.row()
            row.cell(question)
            row.cell(answer)


def _plan(page: _Page, summary: dict[str, Any], *, gettext: Gettext) -> None:
    plan = summary.get("plan")
    programme = summary.get("programme")
    if plan is None and programme is None:
        return
    page.heading(gettext(PLAN), size=9.5)
    if plan is not None and plan["has_plan"]:
        phase = Phase(plan["phase"])
        name = gettext(progress_chart.PHASE_NAMES[phase])
        page.line(gettext(PHASE) % {"phase": int(phase), "name": name}, size=8.5)
        page.line(gettext(EXERCISE_DAYS) % plan, size=8.5)
    elif plan is not None:
        page.line(gettext(NO_PLAN), size=8.5)
    if programme is not None:
        page.line(gettext(PROGRAMME) % programme, size=8.5)


def _trend(page: _Page, summary: dict[str, Any], *, gettext: Gettext) -> None:
    scores = progress_chart.progress_from_json(summary["chart"]).soreness
    page.heading(gettext(TREND), size=9.5)
    if not scores:
        page.line(gettext(NO_SORENESS), size=8.5)
        return
    figures = {"first": scores[0].value, "latest": scores[-1].value, "reports": len(scores)}
    page.line(gettext(SORENESS) % figures, size=8.5)


def _footer(page: _Page, *, locale: str, gettext: Gettext) -> None:
    page.set_y(FOOTER_TOP + 2)
    disclaimer = plain(render.render(DISCLAIMER_TEMPLATE, locale=locale))
    page.line(disclaimer, size=9, style="B")
    page.line(gettext(MADE_BY), size=7.5)
