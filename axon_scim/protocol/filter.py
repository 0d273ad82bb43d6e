"""RFC 7644 section 3.4.2.2 filters and section 3.5.2 PATCH paths.

CONTRACT (other modules rely on these names):

    parse_filter(text: str) -> Filter            # raises InvalidFilterError
    parse_path(text: str) -> PatchPath           # raises InvalidPathError
    parse_attr_path(text: str) -> AttrPath       # sortBy, attributes; InvalidFilterError
    matches(expr: Filter, item: dict, attribute: Attribute | None, *, resource=None) -> bool
    resolve(path: AttrPath, resource: ResourceType) -> (Schema, Attribute, Attribute | None)

The tree below is plain data. Attribute names keep the case they were
written in; resolving them against a schema (and rejecting unknown ones) is
the job of whoever consumes the tree, with the schema in hand: ``resolve``
does it for them.

Semantics that the RFC leaves open, shared by ``matches`` and the ORM
compiler (axon_scim.querying) so that both answer alike:

- ``x eq null`` and ``x eq ""`` mean "x is not present"; ``ne`` null/"" means ``x pr``.
  Present means not null, not "", not an empty list or object.
- A multi-valued attribute matches when any one of its values does; with no
  values, no comparison matches (so ``emails.type ne "home"`` needs an email).
- A single-valued attribute that is absent satisfies only ``ne``.
- ``emails co "x"`` compares ``emails.value``; a complex attribute without a
  ``value`` sub-attribute only takes ``pr`` or a value filter.
- Strings compare case-insensitively unless the attribute is caseExact;
  ``gt``/``ge``/``lt``/``le`` order strings, numbers and dateTimes (parsed);
  booleans take only ``eq``/``ne``; ``co``/``sw``/``ew`` need strings.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

from .errors import InvalidFilterError, InvalidPathError, ScimError, UnknownAttributeError
from .schemas import (
    BOOLEAN,
    COMPLEX,
    DATETIME,
    DECIMAL,
    INTEGER,
    RESOURCE_TYPES,
    SCHEMAS,
    Attribute,
    ResourceType,
    Schema,
)

Value = str | bool | int | float | None


@dataclass(frozen=True)
class AttrPath:
    """``[URN ":"] name ["." sub]``; inside a value filter the names are relative."""

    urn: str | None
    name: str
    sub: str | None = None


@dataclass(frozen=True)
class Compare:
    """``attrPath compareOp compValue``; ``op`` is lower-case (eq ne co sw ew gt ge lt le)."""

    path: AttrPath
    op: str
    value: Value


@dataclass(frozen=True)
class Present:
    """``attrPath pr``."""

    path: AttrPath


@dataclass(frozen=True)
class And:
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Or:
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Not:
    expr: Filter


@dataclass(frozen=True)
class ValuePath:
    """``attrPath "[" valFilter "]"``: some value of a multi-valued attribute matches.

    The paths inside ``filter`` name sub-attributes of ``path`` (``urn`` None,
    ``sub`` None).
    """

    path: AttrPath
    filter: Filter


Filter = Compare | Present | And | Or | Not | ValuePath


@dataclass(frozen=True)
class PatchPath:
    """A PATCH ``path``: ``attrPath`` or ``valuePath ["." subAttr]``.

    ``emails[type eq "work"].value`` is ``PatchPath(AttrPath(None, "emails"),
    filter=..., sub="value")``; ``name.givenName`` is
    ``PatchPath(AttrPath(None, "name", "givenName"))``.
    """

    attr: AttrPath
    filter: Filter | None = None
    sub: str | None = None


# ---------------------------------------------------------------------------
# Parsing (RFC 7644 section 3.4.2.2, figure 1, and section 3.5.2)
# ---------------------------------------------------------------------------

# Longer filters are refused before parsing: no real client sends them, and
# they would only cost CPU and deep trees.
MAX_FILTER_LENGTH = 4096
# Parentheses, ``not`` and brackets nest at most this deep, so that a hostile
# filter answers 400 instead of exhausting the interpreter's stack.
MAX_DEPTH = 50

COMPARE_OPS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")
STRING_OPS = ("co", "sw", "ew")

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
    value: Value
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
        if "\x00" in text:  # no attribute can hold it, and databases refuse it
            column = text.index("\x00") + 1
            raise error(f"The {what} contains a NUL character at column {column}.")
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

    def comp_value(self, op: str) -> Value:
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


# ---------------------------------------------------------------------------
# Schema checks shared by the in-memory evaluator and the ORM compiler
# ---------------------------------------------------------------------------


def resolve(path: AttrPath, resource: ResourceType) -> tuple[Schema, Attribute, Attribute | None]:
    """Check ``path`` against the resource's schemas: (schema, attribute, sub-attribute or None).

    Unknown schemas, attributes and sub-attributes raise ``InvalidFilterError``
    naming them (RFC 7644 section 3.4.2.2: an unknown attribute is an
    invalidFilter, never silently ignored); PATCH callers re-raise as
    ``InvalidPathError``.
    """
    if not path.name:
        raise InvalidFilterError(f'"{path.urn}" names a schema, not an attribute.')
    if path.urn is not None and resource.schema_for(path.urn) is None:
        raise UnknownAttributeError(
            f'Unknown schema "{path.urn}" for {resource.name} resources (in "{format_path(path)}").'
        )
    found = resource.resolve(path.urn, path.name)
    if found is None:
        raise UnknownAttributeError(f'Unknown attribute "{format_path(path)}" for {resource.name}.')
    schema, attr = found
    if path.sub is None:
        return schema, attr, None
    if attr.type != COMPLEX:
        raise InvalidFilterError(f'"{attr.name}" has no sub-attributes (in "{format_path(path)}").')
    sub = attr.sub_attribute(path.sub)
    if sub is None:
        raise UnknownAttributeError(f'Unknown attribute "{format_path(path)}" for {resource.name}.')
    return schema, attr, sub


def is_null_test(op: str, value: Value) -> bool:
    """``eq``/``ne`` against null or "": a presence test, not a comparison.

    ``x eq null`` and ``x eq ""`` mean "x is not present", ``x ne null`` and
    ``x ne ""`` mean ``x pr``: an empty string is how an absent value is stored.
    """
    return op in ("eq", "ne") and (value is None or value == "")


def check_comparison(attr: Attribute, op: str, value: Value) -> Value | datetime:
    """Check that ``op`` and ``value`` make sense for ``attr``; return the value to compare.

    Booleans take only eq/ne (true/false, or "true"/"false" as some IdPs send),
    dateTimes take eq/ne/gt/ge/lt/le with an ISO 8601 string (returned parsed),
    numbers need a number, strings need a string. Raises ``InvalidFilterError``.
    """
    name = attr.name
    if value is None:
        raise InvalidFilterError(f'"{op} null" is not a valid comparison for "{name}".')
    if attr.type == COMPLEX:
        raise InvalidFilterError(f'"{name}" is complex: compare one of its sub-attributes.')
    if attr.type == BOOLEAN:
        if op not in ("eq", "ne"):
            raise InvalidFilterError(f'"{op}" cannot be used on the boolean "{name}".')
        coerced = _as_bool(value)
        if coerced is None:
            raise InvalidFilterError(f'"{name}" is a boolean; compare it with true or false.')
        return coerced
    if attr.type == DATETIME:
        if op in STRING_OPS:
            raise InvalidFilterError(f'"{op}" cannot be used on the dateTime "{name}".')
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise InvalidFilterError(
                f'"{name}" is a dateTime; compare it with an ISO 8601 string such as '
                f'"2024-01-31T12:00:00Z", not {_show(value)}.'
            )
        return parsed
    if attr.type in (INTEGER, DECIMAL):
        if op in STRING_OPS:
            raise InvalidFilterError(f'"{op}" cannot be used on the number "{name}".')
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidFilterError(f'"{name}" is a number; compare it with a number.')
        return value
    if not isinstance(value, str):
        raise InvalidFilterError(
            f'"{name}" is a string; compare it with a "quoted string", not {_show(value)}.'
        )
    return value


def _show(value: object) -> str:
    return json.dumps(value) if isinstance(value, str | bool | int | float) else str(value)


def _as_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def parse_datetime(value: str) -> datetime | None:
    """An RFC 7643 section 2.3.5 dateTime as an aware datetime (naive ones are UTC), or None."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def value_attribute(attr: Attribute) -> Attribute | None:
    """The sub-attribute a complex attribute stands for when named alone (its ``value``).

    RFC 7644 section 3.4.2.2: ``emails co "x"`` compares ``emails.value``.
    """
    return attr.sub_attribute("value") if attr.type == COMPLEX else None


# ---------------------------------------------------------------------------
# In-memory evaluation
# ---------------------------------------------------------------------------


def matches(
    expr: Filter,
    item: dict[str, Any],
    attribute: Attribute | None = None,
    *,
    resource: ResourceType | None = None,
) -> bool:
    """Whether ``item`` satisfies ``expr`` (RFC 7644 section 3.4.2.2 semantics).

    With ``attribute`` (a complex attribute such as ``emails``), ``item`` is
    one of its values and the paths in ``expr`` name its sub-attributes: this
    is how PATCH picks the targets of ``emails[type eq "work"]``. Without it,
    ``item`` is a whole resource; its type comes from ``resource`` or from
    the core schema in ``item["schemas"]``, and with no type at all every
    string compares case-insensitively. Multi-valued attributes match when
    any of their values does. Unknown attributes raise InvalidFilterError
    whenever the schema is known.
    """
    if attribute is None and resource is None:
        resource = _resource_of(item)
    return _Evaluator(attribute, resource).test(expr, item)


def _resource_of(item: dict[str, Any]) -> ResourceType | None:
    schemas = item.get("schemas")
    if not isinstance(schemas, list):
        return None
    ids = {s.lower() for s in schemas if isinstance(s, str)}
    return next((r for r in RESOURCE_TYPES if r.schema.id.lower() in ids), None)


def _get(container: object, key: str) -> Any:
    """``container[key]`` with SCIM's case-insensitive attribute names, or None."""
    if not isinstance(container, dict):
        return None
    if key in container:
        return container[key]
    lowered = key.lower()
    return next(
        (v for k, v in container.items() if isinstance(k, str) and k.lower() == lowered), None
    )


def _present(value: object) -> bool:
    return value is not None and value != "" and value != [] and value != {}


class _Evaluator:
    """Evaluates a tree against one resource dict, or against one value of ``attribute``.

    ``strict`` is False only for value filters evaluated without a schema, where
    any sub-attribute name is accepted.
    """

    def __init__(
        self, attribute: Attribute | None, resource: ResourceType | None, strict: bool = True
    ) -> None:
        self.attribute = attribute
        self.resource = resource
        self.strict = strict

    def test(self, expr: Filter, item: dict[str, Any]) -> bool:
        if isinstance(expr, And):
            return all(self.test(e, item) for e in operands(expr, And))
        if isinstance(expr, Or):
            return any(self.test(e, item) for e in operands(expr, Or))
        if isinstance(expr, Not):
            return not self.test(expr.expr, item)
        if isinstance(expr, ValuePath):
            return self.value_path(expr, item)
        values, attr = self.values(expr.path, item)
        if isinstance(expr, Present):
            return any(_present(v) for v in values)
        if is_null_test(expr.op, expr.value):
            present = any(_present(v) for v in values)
            return present if expr.op == "ne" else not present
        if expr.value is None:
            raise InvalidFilterError(f'"{expr.op} null" is not a valid comparison.')
        value: Value | datetime = expr.value
        if attr is not None:
            value = check_comparison(attr, expr.op, expr.value)
        return any(_compare(expr.op, v, value, attr) for v in values)

    def value_path(self, expr: ValuePath, item: dict[str, Any]) -> bool:
        if self.attribute is not None:
            raise InvalidFilterError("Value filters cannot be nested.")
        if self.resource is None:
            inner = _Evaluator(Attribute(expr.path.name, COMPLEX), None, strict=False)
            multi = None
        else:
            _, attr, _ = resolve(expr.path, self.resource)
            if attr.type != COMPLEX:
                raise InvalidFilterError(f'"{attr.name}" is not complex; it takes no value filter.')
            inner = _Evaluator(attr, None)
            multi = attr.multi_valued
        entries = _entries(self.lookup(expr.path, item), multi)
        return any(isinstance(e, dict) and inner.test(expr.filter, e) for e in entries)

    def lookup(self, path: AttrPath, item: dict[str, Any]) -> Any:
        container: object = item
        core = self.resource.schema.id.lower() if self.resource is not None else None
        if path.urn is not None and path.urn.lower() != core:
            container = _get(item, path.urn)
        return _get(container, path.name)

    def values(self, path: AttrPath, item: dict[str, Any]) -> tuple[list[Any], Attribute | None]:
        """The candidate values a path names in ``item``, and their attribute definition."""
        if self.attribute is not None:
            return self.sub_values(path, item)
        attr = sub = None
        multi = None
        if self.resource is not None:
            _, attr, sub = resolve(path, self.resource)
            multi = attr.multi_valued
        entries = _entries(self.lookup(path, item), multi)
        sub_name = path.sub
        if sub_name is None and attr is not None and attr.type == COMPLEX:
            # ``emails co "x"`` means ``emails.value``; a complex attribute without
            # a value sub-attribute (``name``) can only be tested with pr.
            sub = value_attribute(attr)
            if sub is None:
                return entries, attr
            sub_name = sub.name
        elif sub_name is None and attr is None and any(isinstance(e, dict) for e in entries):
            sub_name = "value"
        if sub_name is None:
            return entries, attr
        return [_get(e, sub_name) for e in entries], sub

    def sub_values(
        self, path: AttrPath, item: dict[str, Any]
    ) -> tuple[list[Any], Attribute | None]:
        assert self.attribute is not None
        if path.urn is not None or path.sub is not None:
            raise InvalidFilterError(
                f'"{format_path(path)}" inside a value filter must be a plain sub-attribute name.'
            )
        sub = self.attribute.sub_attribute(path.name)
        if sub is None and self.strict:
            raise InvalidFilterError(
                f'Unknown sub-attribute "{path.name}" of "{self.attribute.name}".'
            )
        return [_get(item, path.name)], sub


def _entries(raw: Any, multi: bool | None) -> list[Any]:
    """The values of an attribute: a multi-valued one has none when absent, a single one has None.

    ``multi`` None (no schema) decides by the data. A multi-valued attribute
    sent as one object (as some IdPs do) is one value.
    """
    if multi is None:
        multi = isinstance(raw, list)
    if not multi:
        return [raw]
    if raw is None:
        return []
    return raw if isinstance(raw, list) else [raw]


def operands(expr: Filter, kind: type[And] | type[Or]) -> list[Filter]:
    """The operands of a chain of one connective, flattened without recursion."""
    out: list[Filter] = []
    stack: list[Filter] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, kind):
            stack.append(node.right)
            stack.append(node.left)
        else:
            out.append(node)
    return out


def _compare(op: str, candidate: Any, value: Value | datetime, attr: Attribute | None) -> bool:
    """One candidate value against the filter value; a missing candidate only satisfies ne."""
    if candidate is None or candidate == "":
        return op == "ne"
    kind = attr.type if attr is not None else None
    if kind == BOOLEAN or isinstance(value, bool):
        got = _as_bool(candidate)
        if op not in ("eq", "ne"):
            raise InvalidFilterError(f'"{op}" cannot be used on a boolean.')
        return (got == value) == (op == "eq") if got is not None else op == "ne"
    if kind == DATETIME or isinstance(value, datetime):
        when = (
            candidate
            if isinstance(candidate, datetime)
            else (parse_datetime(candidate) if isinstance(candidate, str) else None)
        )
        if when is None or not isinstance(value, datetime):
            return op == "ne"
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return _order(op, when, value)
    if isinstance(value, int | float):
        if op in STRING_OPS:
            raise InvalidFilterError(f'"{op}" cannot be used with a number.')
        if isinstance(candidate, bool) or not isinstance(candidate, int | float):
            return op == "ne"
        return _order(op, candidate, value)
    if not isinstance(candidate, str) or not isinstance(value, str):
        return op == "ne"
    if attr is None or not attr.case_exact:
        candidate, value = candidate.lower(), value.lower()
    if op == "co":
        return value in candidate
    if op == "sw":
        return candidate.startswith(value)
    if op == "ew":
        return candidate.endswith(value)
    return _order(op, candidate, value)


def _order(op: str, left: Any, right: Any) -> bool:
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if op == "gt":
        return bool(left > right)
    if op == "ge":
        return bool(left >= right)
    if op == "lt":
        return bool(left < right)
    if op == "le":
        return bool(left <= right)
    raise InvalidFilterError(f'"{op}" cannot compare these values.')
