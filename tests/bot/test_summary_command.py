"""/summary through the real bot and a fake Bot API: words when there is no assessment yet, and
a one-page PDF sent with sendDocument after a home-care and after a see-a-clinician assessment,
the latter also from the button under its outcome."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from bot.summary_pdf import FILENAME
from tests.bot.harness import CHAT, SPRAIN_TAPS, Harness, button_labels, home_care, running_bot

PDF_BUTTON = "PDF for the clinic"


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bot.db'}"


async def summary_text(h: Harness, trigger) -> str:
    """Send /summary (or tap its button) and read back the one-page PDF that comes."""
    before = len(h.api.uploads)
    (document,) = await trigger()
    assert "document" in document, document
    assert document["document"]["file_name"] == FILENAME
    assert "Your summary for the clinic" in document["caption"]
    upload = h.api.uploads[before]
    assert upload.method == "sendDocument" and upload.data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(upload.data))
    assert len(reader.pages) == 1
    return re.sub(r"\s+", " ", reader.pages[0].extract_text())


async def test_summary_without_an_assessment_says_so_in_words(url: str) -> None:
    async with running_bot(url) as h:
        before = len(h.api.uploads)
        (reply,) = await h.say("/summary")
        assert "no finished assessment" in reply["text"]
        assert len(h.api.uploads) == before


async def test_summary_after_home_care_is_a_pdf(url: str) -> None:
    async with running_bot(url) as h:
        await home_care(h)
        outcome = h.api.sent_to(CHAT)[-1]
        assert outcome["text"].startswith("Home care")
        assert PDF_BUTTON not in [label for row in button_labels(outcome) for label in row]
        text = await summary_text(h, lambda: h.say("/summary"))
        assert f"Runner: Runner {CHAT}" in text
        assert "Result: Home care" in text
        assert "Where does your ankle hurt most? Outside of the ankle" in text
        assert "This is not a diagnosis" in text


async def test_a_see_a_clinician_outcome_offers_the_pdf(url: str) -> None:
    async with running_bot(url) as h:
        await h.say("/new")
        for label in SPRAIN_TAPS:
            (question,) = await h.tap(label)
        # "No" to every warning sign but the Ottawa bony points: an X-ray (S1).
        while "Press firmly" not in question["text"]:
            (question,) = await h.tap("No")
        (outcome,) = await h.tap("Yes")
        for _ in range(5):  # the questions left after the Ottawa points
            if outcome["text"].startswith("See a clinician"):
                break
            (outcome,) = await h.tap("No")
        assert outcome["text"].startswith("See a clinician"), outcome["text"]
        assert button_labels(outcome) == [["Why", "What to do"], ["Warning signs", PDF_BUTTON]]
        text = await summary_text(h, lambda: h.tap(PDF_BUTTON))
        assert "Result: See a clinician" in text
        assert "S1: pressing the bone hurts at one of the Ottawa points" in text
        assert "Press firmly on each of these bony spots." in text
