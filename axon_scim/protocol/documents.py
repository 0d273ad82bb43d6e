"""Canonical form of SCIM input documents: POST/PUT bodies and PATCH values.

RFC 7643 sections 2-4 define the attributes; IdPs spell them loosely. This
module turns what they send into one shape the rest of the server can trust:

- keys carry the schema's spelling (attribute names are case-insensitive,
  RFC 7643 section 2.1): ``USERNAME`` becomes ``userName``;
- core attributes sit at the top level, extension attributes under their
  schema URN, whether they were sent nested, URN-qualified
  (``urn:...:enterprise:2.0:User:department``) or dotted (``name.givenName``);
- string booleans (``"False"``) become booleans, numbers sent for strings
  become strings, one object sent for a multi-valued attribute becomes a list
  of one, a bare string sent for a complex value becomes ``{"value": s}``;
- unknown attributes and unknown ``schemas`` URIs are dropped, never an error
  (Entra, OneLogin and Okta all send URNs of their own), and named to a
  caller that asks, so that the audit log can show them;
- read-only attributes (``id``, ``meta``, ``groups``) and the write-only
  ``password`` are kept: the caller decides (PUT ignores the read-only ones,
  PATCH compares them with the current values).

Null handling (a decision the RFC leaves open). RFC 7643 section 2.5 makes
``null`` equivalent to "unassigned", and Entra sends ``null`` for attributes
it has no value for. So in a POST/PUT document a ``null`` is simply dropped,
and so is a cleared reference (the enterprise ``manager`` sent as ``""`` or
``{"value": ""}``): PUT replaces the whole resource, so an absent attribute
is a cleared one. In a PATCH value (``for_patch_value=True``) there is no
such implication, so explicit nulls and cleared references are kept as
``None`` and the PATCH parser turns them into ``remove`` operations.
"""

from __future__ import annotations

from typing import Any

from .errors import InvalidSyntaxError, InvalidValueError
from .schemas import (
    BOOLEAN,
    COMPLEX,
    DECIMAL,
    INTEGER,
    Attribute,
    ResourceType,
    Schema,
)

# (schema, top-level attribute, sub-attribute or None) for one document key.
KeyTarget = tuple[Schema, Attribute, Attribute | None]


def normalize_document(
    body: Any,
    resource: ResourceType,
    *,
    for_patch_value: bool = False,
    require: bool = False,
    ignored: list[str] | None = None,
) -> dict[str, Any]:
    """Return ``body`` as a canonical resource document (see the module docstring).

    RFC 7643 sections 2.1-2.5 and 3. ``require=True`` (POST, PUT) checks the
    core schema's required attributes (``userName``, ``displayName``).
    ``for_patch_value=True`` keeps explicit nulls as ``None`` and drops
    ``schemas`` (a PATCH value is not a resource). ``ignored``, when given,
    collects the names that were dropped as unknown: top-level keys, and the
    keys of a schema's nested object as ``<URN>:<key>``.
    """
    if not isinstance(body, dict):
        raise InvalidSyntaxError("The request body must be a JSON object.")
    out: dict[str, Any] = {}
    schemas: list[str] | None = None
    for key, value in body.items():
        if key.lower() == "schemas":
            schemas = _known_schemas(value, resource)
            continue
        nested = resource.schema_for(key)
        if nested is not None:
            _place_nested(out, resource, nested, value, for_patch_value, ignored)
            continue
        target = resolve_key(key, resource)
        if target is not None:
            _place(out, resource, target, value, keep_null=for_patch_value)
        elif ignored is not None and value is not None:
            ignored.append(key)
    for extension in resource.extensions:
        if out.get(extension.id) == {}:
            del out[extension.id]  # only nulls or unknown names were sent for it
    if schemas is not None and not for_patch_value:
        out["schemas"] = schemas
    if require:
        _check_required(out, resource)
    return out


def resolve_key(key: str, resource: ResourceType) -> KeyTarget | None:
    """Resolve a document key: ``userName``, ``name.givenName``, ``urn:...:User:manager.value``.

    RFC 7644 section 3.10 attribute notation, case-insensitive. Returns None
    for a name the resource does not know (callers ignore it).
    """
    urn: str | None = None
    rest = key
    if ":" in key:
        # Attribute names never contain ":", so the URN is everything before the last one
        # (and may itself contain dots: "...:2.0:User").
        urn, rest = key.rsplit(":", 1)
        if resource.schema_for(urn) is None:
            return None
    name, _, sub_name = rest.partition(".")
    found = resource.resolve(urn, name)
    if found is None:
        return None
    schema, attr = found
    if not sub_name:
        return schema, attr, None
    sub = attr.sub_attribute(sub_name)
    return (schema, attr, sub) if sub is not None else None


def normalize_value(attribute: Attribute, value: Any, *, where: str) -> Any:
    """Normalize a value sent for ``attribute``; None means absent or cleared.

    RFC 7643 section 2.3 (types) and 2.4 (multi-valued). ``where`` names the
    attribute in error details. A multi-valued attribute always comes back as
    a list; a single-valued complex one as a dict of known sub-attributes, or
    None when it was cleared (``""`` or ``{"value": ""}`` for a reference
    such as the enterprise ``manager``).
    """
    if value is None:
        return None
    if attribute.multi_valued:
        return _multi_value(attribute, value, where)
    if attribute.type == COMPLEX:
        return _single_complex(attribute, value, where, keep_null=False)
    return normalize_simple(attribute, value, where=where)


def normalize_item(attribute: Attribute, value: Any, *, where: str) -> Any:
    """Normalize one value of the multi-valued ``attribute`` (RFC 7643 section 2.4).

    A complex value may be sent as an object or, for attributes with a
    ``value`` sub-attribute, as a bare string (``"a@x"`` -> ``{"value": "a@x"}``).
    Nulls inside the object are dropped.
    """
    if attribute.type != COMPLEX:
        return normalize_simple(attribute, value, where=where)
    if isinstance(value, dict):
        return _complex_fields(attribute, value, where, keep_null=False)
    value_sub = attribute.sub_attribute("value")
    if value_sub is not None and _is_scalar(value):
        return {"value": normalize_simple(value_sub, value, where=f"{where}.value")}
    raise InvalidValueError(f"'{where}' must be an object, not {_type_name(value)}.")


def normalize_simple(attribute: Attribute, value: Any, *, where: str) -> Any:
    """Coerce a value of a simple (non-complex) attribute to its RFC 7643 section 2.3 type.

    Booleans also accept the strings "true"/"false" in any case (Entra sends
    ``"False"``); strings accept numbers, which become their decimal text.
    """
    if attribute.type == BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise InvalidValueError(f"'{where}' must be a boolean, not {_type_name(value)}.")
    if attribute.type == INTEGER:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise InvalidValueError(f"'{where}' must be an integer, not {_type_name(value)}.")
    if attribute.type == DECIMAL:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        raise InvalidValueError(f"'{where}' must be a number, not {_type_name(value)}.")
    # string, reference, binary, dateTime: all travel as JSON strings.
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        # Lenient: some IdP mappings send employeeNumber or phone numbers as JSON numbers.
        return str(value)
    raise InvalidValueError(f"'{where}' must be a string, not {_type_name(value)}.")


def check_single_primary(attribute: Attribute, items: list[Any], *, where: str) -> None:
    """Reject more than one ``primary: true`` value (RFC 7643 section 2.4)."""
    if attribute.sub_attribute("primary") is None:
        return
    primaries = sum(1 for item in items if isinstance(item, dict) and item.get("primary") is True)
    if primaries > 1:
        raise InvalidValueError(f"At most one value of '{where}' may have primary set to true.")


def is_cleared_reference(attribute: Attribute, value: Any) -> bool:
    """True for ``""`` or ``{"value": ""}`` sent for a single-valued reference like ``manager``.

    Entra clears the enterprise manager this way instead of removing it.
    """
    if attribute.multi_valued or attribute.type != COMPLEX:
        return False
    if attribute.sub_attribute("value") is None:
        return False
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, dict):
        sent = {k.lower(): v for k, v in value.items()}
        return "value" in sent and isinstance(sent["value"], str) and not sent["value"].strip()
    return False


def _multi_value(attribute: Attribute, value: Any, where: str) -> list[Any]:
    # One object instead of a list is a common IdP habit ("emails": {"value": ...}).
    items = value if isinstance(value, list) else [value]
    out: list[Any] = []
    for item in items:
        if item is None:
            continue
        normalized = normalize_item(attribute, item, where=where)
        if normalized == {}:
            continue  # an object made only of nulls or unknown keys carries nothing
        out.append(normalized)
    check_single_primary(attribute, out, where=where)
    return out


def _single_complex(attribute: Attribute, value: Any, where: str, *, keep_null: bool) -> Any:
    if isinstance(value, list):
        # Entra has sent the manager as a one-element list; more than one is meaningless.
        if len(value) != 1:
            raise InvalidValueError(f"'{where}' is single-valued; send one object, not a list.")
        value = value[0]
        if value is None:
            return None
    if is_cleared_reference(attribute, value):
        return None
    if isinstance(value, dict):
        fields = _complex_fields(attribute, value, where, keep_null=keep_null)
        return fields or None
    value_sub = attribute.sub_attribute("value")
    if value_sub is not None and _is_scalar(value):
        # The enterprise manager sent as a bare id.
        return {"value": normalize_simple(value_sub, value, where=f"{where}.value")}
    raise InvalidValueError(f"'{where}' must be an object, not {_type_name(value)}.")


def _complex_fields(
    attribute: Attribute, value: dict[str, Any], where: str, *, keep_null: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, sub_value in value.items():
        sub = attribute.sub_attribute(key)
        if sub is None:
            continue
        if sub_value is None:
            if keep_null:
                out[sub.name] = None
            continue
        out[sub.name] = normalize_simple(sub, sub_value, where=f"{where}.{sub.name}")
    return out


def _place(
    out: dict[str, Any],
    resource: ResourceType,
    target: KeyTarget,
    value: Any,
    *,
    keep_null: bool,
) -> None:
    """Put one normalized key of the input into ``out``, merging complex values."""
    schema, attr, sub = target
    container = out if schema is resource.schema else out.setdefault(schema.id, {})
    where = _label(resource, schema, attr)
    if sub is not None:
        if attr.multi_valued:
            return  # "emails.value" as a document key names no single value: ignored
        sub_where = f"{where}.{sub.name}"
        if value is None or (sub.name == "value" and is_cleared_reference(attr, value)):
            normalized = None
        else:
            normalized = normalize_simple(sub, value, where=sub_where)
        if normalized is None and not keep_null:
            return
        current = container.get(attr.name)
        if not isinstance(current, dict):
            current = container[attr.name] = {}
        current[sub.name] = normalized
        return
    if attr.type == COMPLEX and not attr.multi_valued:
        normalized = (
            None if value is None else _single_complex(attr, value, where, keep_null=keep_null)
        )
    else:
        normalized = normalize_value(attr, value, where=where)
    if normalized is None:
        if keep_null:
            container[attr.name] = None
        return
    current = container.get(attr.name)
    if isinstance(normalized, dict) and isinstance(current, dict):
        current.update(normalized)  # "name" and "name.givenName" both sent: merge
    else:
        container[attr.name] = normalized


def _place_nested(
    out: dict[str, Any],
    resource: ResourceType,
    schema: Schema,
    value: Any,
    keep_null: bool,
    ignored: list[str] | None,
) -> None:
    """Place ``{"urn:...": {...}}``: the attributes of one schema sent as a nested object."""
    if value is None:
        return
    if not isinstance(value, dict):
        raise InvalidValueError(f"'{schema.id}' must be an object, not {_type_name(value)}.")
    for key, sub_value in value.items():
        name, _, sub_name = key.partition(".")
        attr = schema.attribute(name)
        if attr is None and schema is resource.schema:
            found = resource.resolve(None, name)
            attr = found[1] if found else None
        sub = attr.sub_attribute(sub_name) if attr is not None and sub_name else None
        if attr is None or (sub_name and sub is None):
            if ignored is not None and sub_value is not None:
                ignored.append(f"{schema.id}:{key}")
            continue
        _place(out, resource, (schema, attr, sub), sub_value, keep_null=keep_null)


def _known_schemas(value: Any, resource: ResourceType) -> list[str]:
    """Validate ``schemas`` and keep the URIs this resource type knows (RFC 7643 section 3)."""
    if not isinstance(value, list) or not all(isinstance(uri, str) for uri in value):
        raise InvalidSyntaxError("'schemas' must be a list of schema URI strings.")
    known: list[str] = []
    for uri in value:
        schema = resource.schema_for(uri)
        if schema is not None and schema.id not in known:
            known.append(schema.id)
    return known


def _check_required(out: dict[str, Any], resource: ResourceType) -> None:
    for schema in resource.all_schemas():
        container = out if schema is resource.schema else out.get(schema.id) or {}
        for attr in schema.attributes:
            if not attr.required:
                continue
            value = container.get(attr.name)
            if value is None or (isinstance(value, str) and not value.strip()) or value in ([], {}):
                raise InvalidValueError(f"'{_label(resource, schema, attr)}' is required.")


def _label(resource: ResourceType, schema: Schema, attr: Attribute) -> str:
    return attr.name if schema is resource.schema else f"{schema.id}:{attr.name}"


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _type_name(value: Any) -> str:
    names = {bool: "a boolean", str: "a string", int: "a number", float: "a number"}
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    return names.get(type(value), type(value).__name__)
