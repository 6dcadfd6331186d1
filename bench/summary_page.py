"""The README's picture of the /summary PDF: a sample runner's page, written as PDF and as a PNG
of its first page.

The runner is made up: a sprain, limping, pressing the outer ankle bone hurts (the Ottawa rule
S1 sends them to a clinician, who cleared them for the plan), five days of soreness reports and
two exercise days. The tests read the same made-up runners back (`played`, `summary_of`).
The page is the real one (`bot.summary_pdf.render_pdf`, in any shipped language); the PNG needs
`pypdfium2`, a small renderer kept out of the bot's own dependencies (`pip install -e ".[docs]"`).

    .venv/bin/python -m bench.summary_page --out docs [--locale de]
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot import summary_pdf
from bot.db.progress_store import ExerciseDay, PhaseChange, ProgressData, SorenessPoint
from bot.db.summary_store import AssessmentRecord, PlanRecord, SummaryData
from flows.care_paths import choose_path
from flows.dialog import advance
from flows.events import Command, TypedText
from flows.rules import decide
from flows.triage import TriageStep, answers_of
from flows.types import DONE, Disposition, ExerciseResult

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
ASSESSED = NOW - timedelta(days=5)
ZONE = "Europe/Berlin"
# What the README's runner typed; every other question is answered "no" ("None of these" at
# the checklist).
TYPED = {
    TriageStep.LOCATION: "outside",
    TriageStep.ONSET: "sudden",
    TriageStep.STARTED: "1-2 days ago",
    TriageStep.SWELLING: "a little",
    TriageStep.WEIGHT_BEARING: "limp",
    TriageStep.PAIN: "5",
    TriageStep.OTTAWA: "yes",
}


def played(typed: dict[str, str]) -> dict[str, str]:
    """The stored answers of a triage played to its end: `typed` where given, else "no"."""
    state = advance(None, Command("new"), now=ASSESSED).state
    while state.step != DONE:
        state = advance(state, TypedText(typed.get(state.step, "no")), now=ASSESSED).state
    return dict(state.answers)


def summary_of(answers: dict[str, str], *, first_name: str | None = "Ada") -> SummaryData:
    """What `load_summary` would read after this triage: five days of soreness, two exercise
    days, and a plan cleared into phase 2 the day before `NOW`."""
    decision = decide(answers_of(answers))
    assessment = AssessmentRecord(
        completed_at=ASSESSED,
        answers=answers,
        disposition=decision.disposition.code,
        reasons=decision.reasons,
        rules_version=decision.rules_version,
        care_path=choose_path(answers_of(answers)).path.value,
    )
    days = (
        ExerciseDay(date(2026, 12, 3), ExerciseResult.DONE.value),
        ExerciseDay(date(2026, 12, 4), ExerciseResult.SKIPPED.value),
    )
    plan = PlanRecord(Disposition.HOME_CARE.code, 2, ASSESSED, days)
    progress = ProgressData(
        zone=ZONE,
        soreness=tuple(
            SorenessPoint(ASSESSED + timedelta(days=n), 6 - n, "report") for n in range(5)
        ),
        sessions=days,
        phase_changes=(PhaseChange(ASSESSED, 1), PhaseChange(NOW - timedelta(days=1), 2)),
    )
    return SummaryData(first_name, ZONE, assessment, plan, progress)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--locale", default="en")
    args = parser.parse_args()
    page = summary_pdf.summary_to_json(summary_of(played(TYPED), first_name="Sam"), now=NOW)
    pdf = summary_pdf.render_pdf(page, locale=args.locale)
    suffix = "" if args.locale == "en" else f"-{args.locale}"
    pdf_path = args.out / f"summary-example{suffix}.pdf"
    pdf_path.write_bytes(pdf)
    print(f"wrote {pdf_path} ({len(pdf):,} bytes)")
    try:
        import pypdfium2
    except ImportError:
        print('no PNG: pypdfium2 is not installed (pip install -e ".[docs]")')
        return
    first = pypdfium2.PdfDocument(pdf)[0]
    png_path = pdf_path.with_suffix(".png")
    first.render(scale=1.5).to_pil().save(png_path)
    print(f"wrote {png_path}")


if __name__ == "__main__":
    main()
