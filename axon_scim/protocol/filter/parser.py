"""The filter and path grammar: a lexer and a recursive-descent parser.

RFC 7644 section 3.4.2.2 (figure 1) for ``filter``, section 3.5.2 for PATCH
``path``; ``and`` binds tighter than ``or``. Every error is a 400 that names
what is wrong and the column where it happened.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import NoReturn

from ..errors import InvalidFilterError, InvalidPathError, ScimError
from ..schemas import SCHEMAS
from ..text import bad_character, describe_character
from .nodes import (
    COMPARE_OPS,
    And,
    AttrPath,
    Compare,
    CompValue,
    Filter,
    Not,
    Or,
    PatchPath,
    Present,
    ValuePath,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_FILTER_LENGTH",
    "format_path",
    "parse_attr_path",
    "parse_filter",
    "parse_path",
]

# Longer filters are refused before parsing: no real client sends them, and
# they would only cost CPU and deep trees. The room is the longest value an
# attribute keeps (16 KB, an x509Certificates value), so that any stored value
# can be looked up, plus 4 KB around it.
MAX_FILTER_LENGTH = 16384 + 4096
# Parentheses, ``not`` and brackets nest at most this deep, so that a hostile
# filter answers 400 instead of exhausting the interpreter's stack.
MAX_DEPTH = 50


_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
# ATTRNAME = ALPHA *(nameChar); "$ref" is a sub-attribute name too (RFC 7643 section 2.4).
_NAME = r"[A-Za-z$][A-Za-z0-9_$-]*"
_NAME_RE = re.compile(_NAME)
# A name, a dotted name or a URN-qualified name: split and checked by the parser.
_WORD = re.compile(r"[A-Za-z$][A-Za-z0-9_$:.\-]*")
_SUBATTR = re.compile(r"\." + _NAME)
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}

# Token kinds.
_LPAREN, _RPAREN, _LBRACK, _RBRACK = "(", ")", "[", "]"
_STRING, _NUMBER_TOKEN, _WORD_TOKEN, _SUB, _END = "string", "number", "word", "subattr", "end"


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    value: CompValue
    column: int  # 1-based, as the error messages report it


class _Lexer:
    """Splits filter text into tokens; every error names the column it happened at."""

    def __init__(self, text: str, error: type[ScimError]) -> None:
        self.text = text
        self.error = error

    def fail(self, message: str, index: int) -> NoReturn:
        raise self.error(f"{message} at column {index + 1}.")

    def tokens(self) -> list[_Token]:
        text, i = self.text, 0
        out: list[_Token] = []
        while i < len(text):
            ch = text[i]
            if ch in " \t\r\n":
                i += 1
            elif ch in "()[]":
                out.append(_Token(ch, ch, None, i + 1))
                i += 1
            elif ch == '"':
                value, end = self._string(i)
                out.append(_Token(_STRING, text[i:end], value, i + 1))
                i = end
            elif ch == "-" or ch.isdigit():
                i = self._number(i, out)
            elif ch == ".":
                match = _SUBATTR.match(text, i)
                if not match:
                    self.fail('Expected an attribute name after "."', i)
                out.append(_Token(_SUB, match.group(), match.group()[1:], i + 1))
                i = match.end()
            else:
                match = _WORD.match(text, i)
                if not match:
                    self.fail(f"Unexpected character {ch!r}", i)
                out.append(_Token(_WORD_TOKEN, match.group(), match.group(), i + 1))
                i = match.end()
        out.append(_Token(_END, "", None, len(text) + 1))
        return out

    def _number(self, start: int, out: list[_Token]) -> int:
        match = _NUMBER.match(self.text, start)
        end = match.end() if match else start
        if not match or (
            end < len(self.text) and (self.text[end].isalnum() or self.text[end] in "._-")
        ):
            self.fail("Malformed number", start)
        literal = match.group()
        number: int | float = float(literal) if any(c in literal for c in ".eE") else int(literal)
        if isinstance(number, float) and not math.isfinite(number):
            self.fail("Number out of range", start)
        out.append(_Token(_NUMBER_TOKEN, literal, number, start + 1))
        return end

    def _string(self, start: int) -> tuple[str, int]:
        """A JSON string literal (RFC 8259 section 7) starting at the quote ``start``."""
        text, i = self.text, start + 1
        parts: list[str] = []
        while True:
            if i >= len(text):
                self.fail("Unterminated string", start)
            ch = text[i]
            if ch == '"':
                return "".join(parts), i + 1
            if ch < " ":
                self.fail("Control character in string (escape it)", i)
            if ch != "\\":
                parts.append(ch)
                i += 1
                continue
            if i + 1 >= len(text):
                self.fail("Unterminated string", start)
            esc = text[i + 1]
            if esc in _ESCAPES:
                parts.append(_ESCAPES[esc])
                i += 2
            elif esc == "u":
                code, i = self._unicode_escape(i)
                parts.append(code)
            else:
                self.fail(f"Invalid escape \\{esc} in string", i)

    def _hex4(self, i: int) -> int:
        digits = self.text[i + 2 : i + 6]
        if self.text[i : i + 2] != "\\u" or not re.fullmatch(r"[0-9A-Fa-f]{4}", digits):
            self.fail("Invalid \\u escape (needs four hex digits)", i)
        return int(digits, 16)

    def _unicode_escape(self, i: int) -> tuple[str, int]:
        code = self._hex4(i)
        if code == 0:
            self.fail("A string must not hold NUL (\\u0000)", i)
        if 0xDC00 <= code <= 0xDFFF:
            self.fail("Unpaired surrogate in \\u escape", i)
        if 0xD800 <= code <= 0xDBFF:
            # A high surrogate must be followed by its low half (RFC 8259 section 7).
            if self.text[i + 6 : i + 8] != "\\u":
                self.fail("Unpaired surrogate in \\u escape", i)
            low = self._hex4(i + 6)
            if not 0xDC00 <= low <= 0xDFFF:
                self.fail("Unpaired surrogate in \\u escape", i)
            return chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)), i + 12
        return chr(code), i + 6


def _known_schema_urn(text: str) -> bool:
    return any(schema.id.lower() == text.lower() for schema in SCHEMAS)


class _Parser:
    """Recursive descent over the ABNF of RFC 7644 section 3.4.2.2, ``and`` above ``or``."""

    def __init__(self, text: str, error: type[ScimError], what: str) -> None:
        if not isinstance(text, str):
            raise error(f"The {what} must be a string.")
        if len(text) > MAX_FILTER_LENGTH:
            raise error(f"The {what} is longer than {MAX_FILTER_LENGTH} characters.")
        if not text.strip():
            raise error(f"The {what} is empty.")
        bad = bad_character(text)  # no attribute can hold it (``protocol.text``)
        if bad is not None:
            raise error(f"The {what} contains {describe_character(bad[1])} at column {bad[0] + 1}.")
        self.error = error
        self.lexer = _Lexer(text, error)
        self.tokens = self.lexer.tokens()
        self.pos = 0
        self.depth = 0

    # -- helpers --------------------------------------------------------------

    @property
    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def next(self) -> _Token:
        token = self.tokens[self.pos]
        if token.kind != _END:
            self.pos += 1
        return token

    def fail(self, message: str, token: _Token) -> NoReturn:
        raise self.error(f"{message} at column {token.column}.")

    def describe(self, token: _Token) -> str:
        return "the end of the filter" if token.kind == _END else f'"{token.text}"'

    def is_word(self, token: _Token, *words: str) -> bool:
        return token.kind == _WORD_TOKEN and token.text.lower() in words

    def expect(self, kind: str, what: str) -> _Token:
        token = self.next()
        if token.kind != kind:
            self.fail(f"Expected {what}, found {self.describe(token)}", token)
        return token

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(f"Filter nests deeper than {MAX_DEPTH} levels", token)

    def end(self) -> None:
        token = self.peek
        if token.kind != _END:
            self.fail(f"Unexpected {self.describe(token)} after a complete expression", token)

    # -- grammar --------------------------------------------------------------

    def filter(self, in_brackets: bool = False) -> Filter:
        """FILTER = term *("or" term); left-associative."""
        expr = self.term(in_brackets)
        while self.is_word(self.peek, "or"):
            self.next()
            expr = Or(expr, self.term(in_brackets))
        return expr

    def term(self, in_brackets: bool) -> Filter:
        """term = factor *("and" factor): ``and`` binds tighter than ``or``."""
        expr = self.factor(in_brackets)
        while self.is_word(self.peek, "and"):
            self.next()
            expr = And(expr, self.factor(in_brackets))
        return expr

    def factor(self, in_brackets: bool) -> Filter:
        """factor = "not" "(" FILTER ")" / "(" FILTER ")" / attrExp / valuePath."""
        token = self.peek
        if self.is_word(token, "not") and self.tokens[self.pos + 1].kind == _LPAREN:
            self.next()
            return Not(self.group(in_brackets))
        if self.is_word(token, "not") and not self._starts_attr_tail(self.tokens[self.pos + 1]):
            self.fail(
                '"not" must be followed by a filter in parentheses', self.tokens[self.pos + 1]
            )
        if token.kind == _LPAREN:
            return self.group(in_brackets)
        if token.kind != _WORD_TOKEN:
            self.fail(f"Expected an attribute name, found {self.describe(token)}", token)
        return self.attr_exp(in_brackets)

    def _starts_attr_tail(self, token: _Token) -> bool:
        # Lets an attribute literally called "not" be compared: ``not eq "x"``.
        return token.kind == _LBRACK or self.is_word(token, "pr", *COMPARE_OPS)

    def group(self, in_brackets: bool) -> Filter:
        opening = self.expect(_LPAREN, '"("')
        self.enter(opening)
        expr = self.filter(in_brackets)
        closing = self.next()
        if closing.kind != _RPAREN:
            self.fail(
                f'Expected ")" to close the "(" at column {opening.column}, found '
                f"{self.describe(closing)}",
                closing,
            )
        self.depth -= 1
        return expr

    def attr_exp(self, in_brackets: bool) -> Filter:
        token = self.next()
        path = self.attr_path(token)
        if in_brackets and (path.urn is not None or path.sub is not None):
            self.fail(
                f'"{token.text}" inside a value filter must be a plain sub-attribute name', token
            )
        if self.peek.kind == _LBRACK:
            opening = self.next()
            if in_brackets:
                self.fail("Value filters cannot be nested", opening)
            if path.sub is not None:
                self.fail(
                    f"A value filter must follow an attribute, not the sub-attribute "
                    f'"{token.text}"',
                    opening,
                )
            inner = self.bracket(opening)
            if self.peek.kind != _SUB:
                return ValuePath(path, inner)
            # Not in the ABNF, but Entra ID sends ``emails[type eq "work"].value eq "x"``:
            # read it as one value of ``emails`` that satisfies both conditions.
            sub = self.next()
            return ValuePath(path, And(inner, self.comparison(AttrPath(None, str(sub.value)), sub)))
        return self.comparison(path, token)

    def bracket(self, opening: _Token) -> Filter:
        self.enter(opening)
        inner = self.filter(in_brackets=True)
        closing = self.next()
        if closing.kind != _RBRACK:
            self.fail(
                f'Expected "]" to close the "[" at column {opening.column}, found '
                f"{self.describe(closing)}",
                closing,
            )
        self.depth -= 1
        return inner

    def comparison(self, path: AttrPath, after: _Token) -> Filter:
        token = self.next()
        if self.is_word(token, "pr"):
            return Present(path)
        if not self.is_word(token, *COMPARE_OPS):
            self.fail(
                f"Expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after "
                f'"{after.text}", found {self.describe(token)}',
                token,
            )
        op = token.text.lower()
        return Compare(path, op, self.comp_value(op))

    def comp_value(self, op: str) -> CompValue:
        token = self.next()
        if token.kind in (_STRING, _NUMBER_TOKEN):
            return token.value
        if self.is_word(token, "true"):
            return True
        if self.is_word(token, "false"):
            return False
        if self.is_word(token, "null"):
            return None
        self.fail(
            f'Expected a value after "{op}" (a "quoted string", a number, true, false '
            f"or null), found {self.describe(token)}",
            token,
        )

    def attr_path(self, token: _Token) -> AttrPath:
        """attrPath = [URI ":"] ATTRNAME *1subAttr; a URN is split at its last colon."""
        text = token.text
        urn: str | None = None
        if ":" in text:
            urn, _, text = text.rpartition(":")
            if not urn:
                self.fail(f'"{token.text}" has an empty schema URN', token)
        name, dot, sub = text.partition(".")
        if not _NAME_RE.fullmatch(name) or (dot and not _NAME_RE.fullmatch(sub)):
            self.fail(f'"{token.text}" is not a valid attribute path', token)
        return AttrPath(urn, name, sub if dot else None)


def parse_filter(text: str) -> Filter:
    """Parse a ``filter`` query parameter (RFC 7644 section 3.4.2.2) into a tree.

    Raises ``InvalidFilterError`` (400 invalidFilter) naming what is wrong and
    at which column.
    """
    parser = _Parser(text, InvalidFilterError, "filter")
    expr = parser.filter()
    parser.end()
    return expr


def parse_path(text: str) -> PatchPath:
    """Parse a PATCH ``path`` (RFC 7644 section 3.5.2): ``attrPath`` or ``valuePath [subAttr]``.

    A bare schema URN such as the enterprise extension's names the whole
    extension object: ``AttrPath(urn=<urn>, name="")``. Raises ``InvalidPathError``.
    """
    stripped = text.strip() if isinstance(text, str) else text
    if isinstance(stripped, str) and ":" in stripped and _known_schema_urn(stripped):
        return PatchPath(AttrPath(stripped, ""))
    parser = _Parser(text, InvalidPathError, "path")
    token = parser.next()
    if token.kind != _WORD_TOKEN:
        parser.fail(f"Expected an attribute name, found {parser.describe(token)}", token)
    attr = parser.attr_path(token)
    value_filter: Filter | None = None
    sub: str | None = None
    if parser.peek.kind == _LBRACK:
        opening = parser.next()
        if attr.sub is not None:
            parser.fail(
                f'A value filter must follow an attribute, not the sub-attribute "{token.text}"',
                opening,
            )
        value_filter = parser.bracket(opening)
        if parser.peek.kind == _SUB:
            sub = str(parser.next().value)
    parser.end()
    return PatchPath(attr, value_filter, sub)


def parse_attr_path(text: str) -> AttrPath:
    """Parse a bare ``attrPath`` (``sortBy``, ``attributes`` entries); raises InvalidFilterError."""
    parser = _Parser(text, InvalidFilterError, "attribute path")
    token = parser.expect(_WORD_TOKEN, "an attribute name")
    path = parser.attr_path(token)
    parser.end()
    return path


def format_path(path: AttrPath) -> str:
    """The path as written in a filter, for error messages."""
    name = f"{path.name}.{path.sub}" if path.sub else path.name
    return f"{path.urn}:{name}" if path.urn else name
