"""Which attributes a response carries: ``attributes``, ``excludedAttributes`` and ``returned``.

RFC 7644 section 3.4.2.5 lets a client narrow a response with ``attributes``
or trim it with ``excludedAttributes``; RFC 7643 section 2.2 gives every
attribute a ``returned`` characteristic that overrides both:

- ``always`` (``id``, and ``userName`` in our User schema) is always sent;
- ``never`` (``password``) is never sent;
- ``request`` is sent only when named itself in ``attributes`` (naming its
  extension or its parent attribute is not enough);
- ``default`` is sent unless ``attributes`` leaves it out or
  ``excludedAttributes`` names it.

``schemas`` is not an attribute of any schema; it is always kept, unchanged,
even when an extension's key disappears from the document because nothing of
it is left (a ``schemas`` entry without data is valid, and keeping the list
as is spares clients a document whose ``schemas`` varies with the request).

Unknown attribute names are ignored, not rejected: RFC 7644 says nothing
about them, IdPs ask for attributes that a given server does not support,
and a root ``/.search`` applies one list to several resource types, each of
which knows only some of the names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from .schemas import ALWAYS, NEVER, REQUEST, Attribute, ResourceType

# A resolved name: (extension URN or None for the core schema, attribute, sub-attribute).
# ``attribute`` is None when the name is a whole extension schema.
_Key = tuple[str | None, str | None, str | None]


def parse_attribute_list(
    text: str | Sequence[str] | None, resource: ResourceType | None
) -> tuple[str, ...]:
    """Parse an ``attributes``/``excludedAttributes`` value into canonical names.

    RFC 7644 section 3.4.2.5 and section 3.10. Names are comma-separated
    (a list of strings is accepted too, each possibly holding commas),
    case-insensitive, optionally URN-qualified, and may name a sub-attribute
    with a dot. Each known name comes back spelled as the schema spells it:
    ``name.givenName``, ``urn:...:enterprise:2.0:User:manager.value``, or a
    bare extension URN for the whole extension. Core attributes lose their
    core URN prefix. Unknown names (and the bare core schema URN, which would
    select everything) are dropped; duplicates are kept once.

    With ``resource`` None (a root ``/.search`` over several types) the names
    are only split and stripped, to be resolved per type by ``project``.
    """
    names = _split(text)
    if resource is None:
        return tuple(dict.fromkeys(names))
    canonical: dict[str, None] = {}
    for name in names:
        key = _resolve(name, resource)
        if key is not None:
            canonical[_format(key)] = None
    return tuple(canonical)


def project(
    document: dict[str, Any],
    resource: ResourceType,
    attributes: Iterable[str] = (),
    excluded: Iterable[str] = (),
) -> dict[str, Any]:
    """Return the part of ``document`` to send, following ``returned`` and the request lists.

    RFC 7644 section 3.4.2.5, RFC 7643 section 2.2. ``attributes`` and
    ``excluded`` may be canonical or raw names (they are resolved against
    ``resource`` here); naming a sub-attribute in ``attributes`` returns its
    parent with only that sub-attribute. The input is not modified.
    """
    attributes, excluded = tuple(attributes), tuple(excluded)
    if not attributes and not excluded:
        # The common case: only what is never returned, or only on request, goes.
        hidden = _hidden_by_default(resource)
        if hidden is not None:
            return {key: value for key, value in document.items() if key.lower() not in hidden}
    selection = _Selection(_resolve_all(attributes, resource))
    exclusion = _Selection(_resolve_all(excluded, resource))
    out: dict[str, Any] = {}
    for key, value in document.items():
        if key == "schemas":
            out[key] = value
            continue
        extension = resource.extension(key)
        if extension is None:
            kept = _project_attribute(
                key, value, _lookup_core(resource, key), None, selection, exclusion
            )
            if kept is not _DROP:
                out[key] = kept
            continue
        if not isinstance(value, dict):
            # Not the shape an extension has; send it only where the extension is wanted.
            if selection.wants_schema(extension.id) and not exclusion.names(extension.id, None):
                out[key] = value
            continue
        inner: dict[str, Any] = {}
        for name, sub_value in value.items():
            kept = _project_attribute(
                name, sub_value, extension.attribute(name), extension.id, selection, exclusion
            )
            if kept is not _DROP:
                inner[name] = kept
        if inner:
            out[key] = inner
    return out


def wants(
    attribute_path: str,
    attributes: Iterable[str],
    excluded: Iterable[str],
    resource: ResourceType,
) -> bool:
    """Whether ``project`` could return any of ``attribute_path``, so the server need not load it.

    RFC 7644 section 3.4.2.5. ``attribute_path`` is an attribute, a dotted
    sub-attribute or an extension URN of ``resource``. An unknown path
    raises ``ValueError``: the server asks about its own attributes, so it
    is a programming error.
    """
    key = _resolve(attribute_path, resource)
    if key is None:
        raise ValueError(f"{attribute_path!r} is not an attribute of {resource.name}")
    attributes, excluded = tuple(_split(attributes)), tuple(_split(excluded))
    selection = _Selection(_resolve_all(attributes, resource))
    exclusion = _Selection(_resolve_all(excluded, resource))
    urn, name, sub = key
    if name is None:
        assert urn is not None  # a key without an attribute is always an extension
        extension = resource.extension(urn)
        assert extension is not None
        return any(
            wants(_format((urn, attr.name, None)), attributes, excluded, resource)
            for attr in extension.attributes
        )
    attr = _attribute_of(resource, urn, name)
    if sub is None:
        return _top_level_wanted(attr, urn, selection, exclusion)
    if not _top_level_wanted(attr, urn, selection, exclusion):
        return False
    sub_attr = attr.sub_attribute(sub)
    assert sub_attr is not None
    return _sub_wanted(sub_attr, attr, urn, selection, exclusion)


# Marks an attribute that ``_project_attribute`` leaves out (None is a valid JSON value).
_DROP: Any = object()


@dataclass(frozen=True)
class _Selection:
    """A resolved ``attributes`` or ``excludedAttributes`` list, answering membership questions."""

    keys: frozenset[_Key]

    def __bool__(self) -> bool:
        return bool(self.keys)

    def wants_schema(self, urn: str) -> bool:
        return (urn, None, None) in self.keys

    def names(self, urn: str | None, name: str | None) -> bool:
        """True when the list names this attribute whole, or the whole extension it is in."""
        return (urn, name, None) in self.keys or (urn is not None and self.wants_schema(urn))

    def named_subs(self, urn: str | None, name: str) -> frozenset[str]:
        return frozenset(s for (u, n, s) in self.keys if u == urn and n == name and s is not None)


def _top_level_wanted(
    attr: Attribute | None, urn: str | None, selection: _Selection, exclusion: _Selection
) -> bool:
    """Whether a top-level attribute (None for one unknown to the schema) appears at all."""
    if attr is None:
        # Keys the schema does not define are treated as ``returned: default``. No list can
        # name them (unknown names are dropped), but one can name their whole extension.
        if urn is not None and exclusion.wants_schema(urn):
            return False
        return not selection or (urn is not None and selection.wants_schema(urn))
    if attr.returned == ALWAYS:
        return True
    if attr.returned == NEVER:
        return False
    explicit = (urn, attr.name, None) in selection.keys or bool(
        selection.named_subs(urn, attr.name)
    )
    if attr.returned == REQUEST:
        # Only the attribute's own name counts: naming its whole extension does not.
        return explicit
    if selection:
        return explicit or selection.names(urn, attr.name)
    return not exclusion.names(urn, attr.name)


def _sub_wanted(
    sub: Attribute,
    parent: Attribute,
    urn: str | None,
    selection: _Selection,
    exclusion: _Selection,
) -> bool:
    """Whether a sub-attribute of an included parent appears."""
    if sub.returned == ALWAYS:
        return True
    if sub.returned == NEVER:
        return False
    named_subs = selection.named_subs(urn, parent.name)
    if sub.name in named_subs:
        return True
    if sub.returned == REQUEST:
        return False
    if selection and parent.returned != ALWAYS and not selection.names(urn, parent.name):
        # Only some sub-attributes of this parent were asked for, and not this one.
        return False
    return sub.name not in exclusion.named_subs(urn, parent.name)


def _project_attribute(
    name: str,
    value: Any,
    attr: Attribute | None,
    urn: str | None,
    selection: _Selection,
    exclusion: _Selection,
) -> Any:
    """The projected value of one top-level attribute, or ``_DROP``."""
    if not _top_level_wanted(attr, urn, selection, exclusion):
        return _DROP
    if attr is None or not attr.sub_attributes:
        return value
    if not selection and not exclusion.named_subs(urn, attr.name) and not _hides_subs(attr):
        # Nothing to take out of any value: a group's 100,000 members are sent as they are.
        return value
    if isinstance(value, dict):
        inner = _project_complex(value, attr, urn, selection, exclusion)
        return inner if inner or not value else _DROP
    if isinstance(value, list):
        items = []
        for item in value:
            if not isinstance(item, dict):
                items.append(item)
                continue
            projected = _project_complex(item, attr, urn, selection, exclusion)
            if projected:
                items.append(projected)
        # An emptied list carries nothing; an originally empty one is sent as it was.
        return items if items or not value else _DROP
    return value


@cache
def _hidden_by_default(resource: ResourceType) -> frozenset[str] | None:
    """Lower-cased core attribute names a plain read leaves out, when only those are hidden.

    None when an extension attribute or a sub-attribute is hidden too: then
    the full projection has to look inside values.
    """
    hidden = set()
    for schema in resource.all_schemas():
        for attr in (*schema.attributes, *resource.common):
            if attr.sub_attributes and _hides_subs(attr):
                return None
            if attr.returned in (NEVER, REQUEST):
                if schema is not resource.schema:
                    return None
                hidden.add(attr.name.lower())
    return frozenset(hidden)


@cache
def _hides_subs(attr: Attribute) -> bool:
    """Whether some sub-attribute is returned only on request, or never."""
    return any(sub.returned in (NEVER, REQUEST) for sub in attr.sub_attributes)


def _project_complex(
    value: dict[str, Any],
    attr: Attribute,
    urn: str | None,
    selection: _Selection,
    exclusion: _Selection,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for sub_name, sub_value in value.items():
        sub = attr.sub_attribute(sub_name)
        if sub is None:
            # Treated as ``returned: default``, like unknown top-level keys.
            keep = not selection or selection.names(urn, attr.name) or attr.returned == ALWAYS
        else:
            keep = _sub_wanted(sub, attr, urn, selection, exclusion)
        if keep:
            out[sub_name] = sub_value
    return out


def _split(text: str | Iterable[str] | None) -> list[str]:
    if text is None:
        return []
    # A bare string is one comma-separated list, not an iterable of characters.
    parts = [text] if isinstance(text, str) else list(text)
    return [name.strip() for part in parts for name in part.split(",") if name.strip()]


def _resolve_all(names: Iterable[str], resource: ResourceType) -> frozenset[_Key]:
    keys = (_resolve(name, resource) for name in _split(names))
    return frozenset(key for key in keys if key is not None)


def _resolve(name: str, resource: ResourceType) -> _Key | None:
    """Resolve one name in standard attribute notation (RFC 7644 section 3.10), or None."""
    name = name.strip()
    urn: str | None = None
    path = name
    if name.lower().startswith("urn:"):
        # Match the longest schema URN first: URNs contain dots ("2.0") and may nest.
        for schema in sorted(resource.all_schemas(), key=lambda s: len(s.id), reverse=True):
            if name.lower() == schema.id.lower():
                if schema is resource.schema:
                    return None  # the whole core schema is not a selection we support
                return (schema.id, None, None)
            if name.lower().startswith(schema.id.lower() + ":"):
                urn = schema.id
                path = name[len(schema.id) + 1 :]
                break
        else:
            return None
    parts = path.split(".")
    if len(parts) > 2 or not all(parts):
        return None
    found = resource.resolve(urn, parts[0])
    if found is None:
        return None
    schema, attr = found
    urn_key = None if schema is resource.schema else schema.id
    if len(parts) == 1:
        return (urn_key, attr.name, None)
    sub = attr.sub_attribute(parts[1])
    return (urn_key, attr.name, sub.name) if sub is not None else None


def _format(key: _Key) -> str:
    urn, name, sub = key
    path = ".".join(part for part in (name, sub) if part is not None)
    if urn is None:
        return path
    return f"{urn}:{path}" if path else urn


def _lookup_core(resource: ResourceType, name: str) -> Attribute | None:
    found = resource.resolve(None, name)
    return found[1] if found else None


def _attribute_of(resource: ResourceType, urn: str | None, name: str) -> Attribute:
    found = resource.resolve(urn, name)
    assert found is not None  # ``name`` came out of ``_resolve``
    return found[1]
