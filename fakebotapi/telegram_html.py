"""Telegram's HTML dialect, parsed the way the Bot API parses `parse_mode=HTML` text.

The fake Bot API uses this to answer like Telegram does: a message whose HTML Telegram would
refuse (an unsupported or unclosed tag, a bare `<`) fails with the same "can't parse entities"
error, and an accepted one is stored as plain text plus entities whose offsets and lengths count
UTF-16 code units. Only the subset the Bot API documents is accepted; `&` that does not start a
known entity stays a literal character, as in Telegram.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

ENTITY_TYPE_BY_TAG: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}

_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_TAG_NAME_RE = re.compile(r"[a-zA-Z0-9-]*")
_ATTRIBUTE_RE = re.compile(r"""\s+([a-zA-Z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")
_TAG_END_RE = re.compile(r"\s*/?>")
_END_TAG_RE = re.compile(r"</\s*([a-zA-Z0-9-]*)\s*>")


class HtmlParseError(ValueError):
    """Telegram would refuse this HTML; the message is the text after "can't parse entities: "."""


@dataclass
class _OpenTag:
    name: str
    attributes: dict[str, str]
    offset: int
    language: str | None = None


def utf16_length(text: str) -> int:
    """Length of `text` as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _decode_entities(value: str) -> str:
    return _ENTITY_RE.sub(_entity_text, value)


def _entity_text(match: re.Match[str]) -> str:
    named, decimal, hexadecimal = match.groups()
    if named:
        return _NAMED_ENTITIES[named]
    code_point = int(decimal) if decimal else int(hexadecimal, 16)
    if code_point > 0x10FFFF:
        return match.group(0)
    return chr(code_point)


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Return the plain text and the entities of a `parse_mode=HTML` text, or raise."""
    pieces: list[str] = []
    offset = 0
    stack: list[_OpenTag] = []
    entities: list[dict[str, Any]] = []
    index = 0
    while index < len(source):
        char = source[index]
        if char == "&":
            match = _ENTITY_RE.match(source, index)
            text = _entity_text(match) if match else "&"
            pieces.append(text)
            offset += utf16_length(text)
            index = match.end() if match else index + 1
            continue
        if char != "<":
            pieces.append(char)
            offset += utf16_length(char)
            index += 1
            continue
        if source.startswith("</", index):
            index = _close_tag(source, index, stack, entities, offset)
        else:
            index, tag = _open_tag(source, index, offset)
            stack.append(tag)
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
    return "".join(pieces), entities


def _open_tag(source: str, index: int, offset: int) -> tuple[int, _OpenTag]:
    byte_offset = _byte_offset(source, index)
    name_match = _TAG_NAME_RE.match(source, index + 1)
    assert name_match is not None  # the pattern accepts the empty string
    name = name_match.group(0).lower()
    if name not in ENTITY_TYPE_BY_TAG:
        raise HtmlParseError(f'Unsupported start tag "{name}" at byte offset {byte_offset}')
    position = name_match.end()
    attributes: dict[str, str] = {}
    while (attribute := _ATTRIBUTE_RE.match(source, position)) is not None:
        attribute_name = attribute.group(1).lower()
        raw_value = next((g for g in attribute.groups()[1:] if g is not None), "")
        attributes[attribute_name] = _decode_entities(raw_value)
        position = attribute.end()
    end = _TAG_END_RE.match(source, position)
    if end is None:
        raise HtmlParseError(f"Can't find end of the tag at byte offset {byte_offset}")
    if name == "span" and attributes.get("class") != "tg-spoiler":
        raise HtmlParseError(
            f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset}'
        )
    return end.end(), _OpenTag(name=name, attributes=attributes, offset=offset)


def _close_tag(
    source: str,
    index: int,
    stack: list[_OpenTag],
    entities: list[dict[str, Any]],
    offset: int,
) -> int:
    byte_offset = _byte_offset(source, index)
    match = _END_TAG_RE.match(source, index)
    if match is None:
        raise HtmlParseError(f"Can't find end of the tag at byte offset {byte_offset}")
    name = match.group(1).lower()
    if not stack:
        raise HtmlParseError(f'Unexpected end tag "{name}" at byte offset {byte_offset}')
    tag = stack.pop()
    if name != tag.name:
        raise HtmlParseError(
            f'Unmatched end tag at byte offset {byte_offset}, expected "</{tag.name}>", '
            f'found "</{name}>"'
        )
    entity = _entity_for(tag, offset, stack)
    if entity is not None:
        entities.append(entity)
    return match.end()


def _entity_for(tag: _OpenTag, end_offset: int, stack: list[_OpenTag]) -> dict[str, Any] | None:
    length = end_offset - tag.offset
    if length <= 0:
        return None
    entity: dict[str, Any] = {
        "type": ENTITY_TYPE_BY_TAG[tag.name],
        "offset": tag.offset,
        "length": length,
    }
    if tag.name == "a":
        # Telegram drops a link without a target rather than failing the message.
        if not tag.attributes.get("href"):
            return None
        entity["url"] = tag.attributes["href"]
    elif tag.name == "code":
        language = tag.attributes.get("class", "")
        parent = stack[-1] if stack else None
        # <pre><code class="language-x"> is how Telegram spells a pre block's language.
        if parent is not None and parent.name == "pre" and language.startswith("language-"):
            parent.language = language.removeprefix("language-")
            return None
    elif tag.name == "pre" and tag.language:
        entity["language"] = tag.language
    elif tag.name == "blockquote" and "expandable" in tag.attributes:
        entity["type"] = "expandable_blockquote"
    elif tag.name == "tg-emoji":
        entity["custom_emoji_id"] = tag.attributes.get("emoji-id", "")
    return entity
