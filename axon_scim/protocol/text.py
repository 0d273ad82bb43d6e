"""Which characters SCIM text may hold: any Unicode scalar value except NUL.

JSON (and the JSON string literals of a filter) can spell two characters
that no attribute can hold:

- a lone surrogate (``"\\ud800"``): half of a UTF-16 pair, not a Unicode
  scalar value, so it has no UTF-8 encoding and neither database can store
  it (RFC 8259 section 8.2 leaves such strings' behaviour "unpredictable";
  I-JSON, RFC 7493 section 2.1, forbids them);
- NUL (``"\\u0000"``), which PostgreSQL refuses in text.

Each is refused where text enters the server, once: the JSON body parsers
(``find_bad_text`` over the whole body) and the filter and path lexer
(``bad_character`` over the text and each unescaped literal). Nothing
behind those boundaries needs to check again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BadText",
    "bad_character",
    "describe_character",
    "find_bad_text",
    "printable",
    "scrubbed",
]

_BAD = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True)
class BadText:
    """Where a string holds a character no SCIM text may hold, and what it is."""

    path: str  # the string's path in the body, e.g. "Operations[0].value"; "" is the top
    is_key: bool  # the string is a key of the object at ``path``
    index: int  # 0-based, in characters
    character: str

    def message(self) -> str:
        """The whole sentence of an error detail, e.g. ``"emails[0].value" contains ...``."""
        place = f'"{self.path}"' if self.path else "the request body"
        where = f"A key of {place}" if self.is_key else place[:1].upper() + place[1:]
        return (
            f"{where} contains {describe_character(self.character)} at character "
            f"{self.index + 1}; text must consist of Unicode scalar values other than NUL."
        )


def describe_character(character: str) -> str:
    """NUL or a lone surrogate in words, for an error message."""
    if character == "\x00":
        return "a NUL character"
    return f"a lone UTF-16 surrogate (\\u{ord(character):04x})"


def bad_character(text: str) -> tuple[int, str] | None:
    """The index and the character of the first NUL or lone surrogate in ``text``, or None.

    Surrogate pairs never reach here as halves: Python decodes a JSON pair
    (``"\\ud83d\\ude00"``) into one character, so any surrogate left is lone.
    """
    found = _BAD.search(text)
    return (found.start(), found.group()) if found else None


def find_bad_text(value: Any) -> BadText | None:
    """The first string of a parsed JSON value, key or value, that holds a bad character.

    The error names the string by its path from the top (``Operations[0].value``).
    The walk is iterative, so a body nested as deeply as the JSON parser allows
    cannot exhaust the stack here.
    """
    stack: list[tuple[Any, str, bool]] = [(value, "", False)]
    while stack:
        item, path, is_key = stack.pop()
        if isinstance(item, str):
            found = bad_character(item)
            if found is not None:
                return BadText(path, is_key, *found)
        elif isinstance(item, dict):
            children: list[tuple[Any, str, bool]] = []
            for key, child in item.items():
                # A key is checked before its value, so a clean key names the value.
                children.append((key, path, True))
                children.append((child, f"{path}.{key}" if path else key, False))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend(reversed([(child, f"{path}[{n}]", False) for n, child in enumerate(item)]))
    return None


def scrubbed(text: str) -> str:
    """``text`` with each NUL and lone surrogate replaced by U+FFFD, so it can always be encoded.

    For messages that echo client input: an error body must render whatever it quotes.
    """
    return _BAD.sub("\ufffd", text)


def printable(text: str) -> str:
    """``text`` with every character that is not printable (controls, NUL, surrogates) dropped.

    For free text the server records but never parses, such as a User-Agent.
    """
    return text if text.isprintable() else "".join(ch for ch in text if ch.isprintable())
