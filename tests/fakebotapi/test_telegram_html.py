"""The fake parses parse_mode=HTML as Telegram does: plain text, UTF-16 entities, same refusals."""

from __future__ import annotations

import pytest

from fakebotapi.telegram_html import HtmlParseError, parse_html, utf16_length


def test_tags_become_entities_over_the_plain_text() -> None:
    text, entities = parse_html("<b>Rest</b> and <i>ice</i>")
    assert text == "Rest and ice"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 4},
        {"type": "italic", "offset": 9, "length": 3},
    ]


def test_offsets_count_utf16_code_units_as_telegram_does() -> None:
    text, entities = parse_html("🦶 <b>ankle</b>")
    assert utf16_length("🦶") == 2
    assert entities == [{"type": "bold", "offset": 3, "length": 5}]
    assert text == "🦶 ankle"


def test_nested_entities_list_the_outer_one_first() -> None:
    _, entities = parse_html("<b>very <i>sore</i></b>")
    assert [e["type"] for e in entities] == ["bold", "italic"]


def test_html_entities_decode_and_a_lone_ampersand_stays_literal() -> None:
    text, _ = parse_html("&lt;3 &amp; R&D &#39;ok&#39; &quot;x&quot;")
    assert text == "<3 & R&D 'ok' \"x\""


def test_links_carry_their_url() -> None:
    _, entities = parse_html('<a href="https://example.org/?a=1&amp;b=2">guide</a>')
    assert entities == [
        {"type": "text_link", "offset": 0, "length": 5, "url": "https://example.org/?a=1&b=2"}
    ]


def test_pre_with_a_language_code_block_is_one_pre_entity() -> None:
    _, entities = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert entities == [{"type": "pre", "offset": 0, "length": 5, "language": "python"}]


def test_expandable_blockquote() -> None:
    _, entities = parse_html("<blockquote expandable>long</blockquote>")
    assert entities[0]["type"] == "expandable_blockquote"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("pain < 3", 'Unsupported start tag "" at byte offset 5'),
        ("<br>", 'Unsupported start tag "br" at byte offset 0'),
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("</b>", 'Unexpected end tag "b" at byte offset 0'),
    ],
)
def test_html_telegram_refuses_is_refused_with_its_message(source: str, message: str) -> None:
    with pytest.raises(HtmlParseError) as refused:
        parse_html(source)
    assert str(refused.value) == message
