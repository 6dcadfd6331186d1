"""The /summary PDF read back: one page with the answers in plain words, the disposition, each
rule's wording, the care path, the plan and the disclaimer; its words through the catalogue
(a pseudo-locale); and the button under the outcomes that send the runner to a clinician."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

from pypdf import PdfReader

from bench.summary_page import NOW, ZONE, played, summary_of
from bot import summary_pdf
from bot.db.progress_store import ProgressData
from bot.db.summary_store import SummaryData
from flows.advice import SUMMARY_BUTTON, outcome_replies
from flows.care_paths import choose_path
from flows.commands import BY_NAME
from flows.rules import RULES_VERSION, WORDING, decide
from flows.triage import TriageStep, answers_of
from flows.types import BUTTON_LABEL_LIMIT, Disposition

# The longest triage there is: a gradual pain with a pop, a sore bony spot and every energy
# question, so every bone question is asked and several rules fire (S7, S2, S2H, S8).
LONGEST = {
    TriageStep.LOCATION: "inside",
    TriageStep.ONSET: "gradual",
    TriageStep.STARTED: "more than 6 weeks ago",
    TriageStep.TREND: "worse",
    TriageStep.SWELLING: "a little",
    TriageStep.WEIGHT_BEARING: "limp",
    TriageStep.PAIN: "5",
    TriageStep.SIGNS: "pop",
    TriageStep.TIPTOE: "i can",
    TriageStep.BONE_SPOT: "yes",
    TriageStep.BONE_SITE: "inner midfoot",
    TriageStep.PERIODS: "yes",
    TriageStep.WEIGHT_LOSS: "yes",
    TriageStep.RESTRICTED_EATING: "yes",
    TriageStep.EARLIER_BONE_STRESS: "yes",
    TriageStep.NIGHT_PAIN: "yes",
    TriageStep.GIVING_WAY: "yes",
}
SPRAIN = {
    TriageStep.LOCATION: "outside",
    TriageStep.ONSET: "sudden",
    TriageStep.STARTED: "1-2 days ago",
    TriageStep.SWELLING: "a little",
    TriageStep.WEIGHT_BEARING: "limp",
    TriageStep.PAIN: "4",
}


def pdf_text(pdf: bytes) -> tuple[int, str]:
    """How many pages, and the text of the first with its whitespace runs as single spaces."""
    reader = PdfReader(io.BytesIO(pdf))
    return len(reader.pages), re.sub(r"\s+", " ", reader.pages[0].extract_text())


def test_the_longest_assessment_reads_back_in_plain_words_on_one_page() -> None:
    answers = played(LONGEST)
    data = summary_of(answers)
    decision = decide(answers_of(answers))
    assert {"S7", "S2", "S8"} <= set(decision.reasons)
    pdf = summary_pdf.render_pdf(summary_pdf.summary_to_json(data, now=NOW))
    pages, text = pdf_text(pdf)
    assert pages == 1
    assert len(PdfReader(io.BytesIO(pdf)).pages[0].images) == 1  # the soreness chart
    assert "Runner: Ada" in text
    assert "Assessment: 2 Dec 2026, 10:00 (Europe/Berlin time)" in text
    assert "Result: See a clinician" in text
    for code in decision.reasons:
        what, _ = WORDING[code]
        assert f"{code}: {what}" in text
    assert f"Rules version {RULES_VERSION}; sources: docs/clinical-basis.md" in text
    assert "the answers fit an overuse problem I cannot pin down" in text
    # Every answer, as the question and the button the runner saw: no step ids or codes.
    assert "Where does your ankle hurt most? Inside of the ankle" in text
    assert "Gradually, over runs" in text
    assert "How much does it hurt right now, from 0 to 10? 5/10" in text
    assert "Bump, inner midfoot" in text
    assert "I can" in text
    assert len(answers) >= 18
    # Step ids and stored values with digits are codes; the plain ones are English words.
    codes = [
        code
        for pair in answers.items()
        for code in pair
        if re.search(r"\d", code) and re.search(r"[a-z]", code)
    ]
    assert "e3pop" in codes and "w6plus" in codes
    assert [code for code in codes if code in text] == []
    assert "Phase 2 of 4: strength." in text
    assert "Exercise days done: 1 of 5 since the plan began (1 skipped, 0 too sore)." in text
    assert "Soreness from 0 to 10: 6 at first, 2 now, over 5 scores." in text
    assert "This is not a diagnosis" in text


def test_a_home_care_summary_names_the_path_and_no_rule() -> None:
    data = summary_of(played(SPRAIN), first_name=None)
    pages, text = pdf_text(summary_pdf.render_pdf(summary_pdf.summary_to_json(data, now=NOW)))
    assert pages == 1
    assert "Runner: no name given" in text
    assert "Result: Home care" in text
    assert "None of the warning signs asked about applied." in text
    assert "the answers fit a sprain or a knock" in text
    assert "Can you walk on it right now? Yes, with pain or a limp" in text


def test_without_an_assessment_the_page_says_so() -> None:
    data = SummaryData(None, "UTC", None, None, ProgressData(zone="UTC"))
    pages, text = pdf_text(summary_pdf.render_pdf(summary_pdf.summary_to_json(data, now=NOW)))
    assert pages == 1 and "No assessment has been finished yet." in text


def test_every_word_of_the_page_comes_through_the_catalogue(tmp_path: Path) -> None:
    from tests.bot.test_pseudo_locale import PSEUDO, leftovers, pseudo_locale, template_msgids

    page = summary_pdf.summary_to_json(summary_of(played(LONGEST)), now=NOW)
    msgids = template_msgids()
    with pseudo_locale(tmp_path, msgids):
        pages, text = pdf_text(summary_pdf.render_pdf(page, locale=PSEUDO))
    assert pages == 1
    assert "⟦" in text
    # Data is the same in every language: the name, the zone, the sources file, rule codes.
    data = ["Ada", ZONE, summary_pdf.SOURCES_FILE]
    assert leftovers(text, data) == []


def test_outcomes_that_send_the_runner_to_a_clinician_offer_the_pdf() -> None:
    assert len(SUMMARY_BUTTON.label) <= BUTTON_LABEL_LIMIT
    assert SUMMARY_BUTTON.value in BY_NAME
    for typed, disposition in (
        (LONGEST, Disposition.SEE_CLINICIAN),
        ({**SPRAIN, TriageStep.SIGNS: "bent"}, Disposition.EMERGENCY),
        (SPRAIN, Disposition.HOME_CARE),
    ):
        answers = answers_of(played(typed))
        decision = decide(answers)
        assert decision.disposition is disposition
        (first,) = outcome_replies(answers, decision, choose_path(answers))
        buttons = [b for row in first.buttons for b in row]
        assert (SUMMARY_BUTTON in buttons) is (disposition is not Disposition.HOME_CARE)
        # It comes last, after the detail buttons.
        assert disposition is Disposition.HOME_CARE or buttons[-1] == SUMMARY_BUTTON
        assert first.urgent is (disposition is Disposition.EMERGENCY)


def test_one_summary_always_renders_to_the_same_bytes() -> None:
    """The outbox draws the page again on a retry: the creation time is the summary's own."""
    page = summary_pdf.summary_to_json(summary_of(played(SPRAIN)), now=NOW)
    first = summary_pdf.render_pdf(page)
    time.sleep(1.1)  # past a second boundary, where fpdf2 would stamp a new time
    assert summary_pdf.render_pdf(page) == first
    assert b"/CreationDate (D:20261207090000Z)" in first
