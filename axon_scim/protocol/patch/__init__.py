"""SCIM PATCH (RFC 7644 section 3.5.2): parse a PatchOp request, apply it to a document.

Three steps, all on plain data:

1. ``parse_patch_request`` validates the body and returns a list of
   ``PatchOperation`` whose paths are resolved against the schema and spelled
   canonically, and whose values are normalized (``documents``). It absorbs
   the habits of real IdPs: capitalized ops (``"Replace"``), an
   ``operations`` key in any case, string booleans, path-less ``add`` and
   ``replace`` whose value is a dict of plain, dotted (``name.givenName``),
   URN-qualified or nested-extension keys (each key becomes an operation of
   its own), and ``null`` values.
2. ``split_member_operations`` takes the Group ``members`` operations out as
   ``MemberChange`` set operations, so the server never loads a group's
   members (a group can have 100,000 of them); ``collapse_member_changes``
   reduces any number of them to the few set operations with the same effect.
3. ``apply_patch`` applies the remaining operations, in order, to a copy of
   the resource document; an error in any operation leaves the input intact.

Decisions where the RFC is silent:

- ``null`` (RFC 7643 section 2.5: unassigned). ``replace`` with a null value
  removes the target; so does ``add`` to a single-valued target (setting a
  value to "unassigned"); ``add`` of null to a whole multi-valued attribute
  appends nothing and is dropped. A cleared reference (``manager`` sent as
  ``""`` or ``{"value": ""}``) is a ``remove`` of that attribute.
- ``add``/``replace`` without a ``value`` member: 400 ``invalidValue``;
  ``remove`` without a path: 400 ``noTarget`` (RFC 7644 section 3.5.2.2);
  an unknown op: 400 ``invalidSyntax``; more operations than allowed, or
  more work (``budget``: the sum over operations of max(1, values) x
  max(1, value filter terms)) than the caller's ``max_cost``: 400 ``tooMany``.
- ``remove`` on a multi-valued attribute may carry a ``value`` list: only the
  listed values are removed (the Entra and OneLogin way to remove members).
- ``add`` or ``replace`` through a value filter that matches nothing creates
  the value when the filter is a conjunction of ``eq`` comparisons (Entra's
  ``emails[type eq "work"].value``); otherwise 400 ``noTarget``. A ``remove``
  whose filter matches nothing changes nothing.
- Read-only attributes (``id``, ``groups``, read-only sub-attributes): an
  operation that would leave their value unchanged is ignored (Okta repeats
  the group's ``id`` in its rename PATCH); one that would change it is 400
  ``mutability``. ``meta`` is always ignored.
- Undeclared attributes: an operation whose path is URN-qualified and names
  an attribute nobody declared (an unknown extension URN, or a name a custom
  extension lacks) is dropped and named to the caller (``ignored``), as POST
  and PUT drop them; an unknown name in RFC 7643's own schemas is 400
  ``invalidPath``. A schema URN as the path is that schema's attributes:
  ``add``/``replace`` set those given, ``remove`` removes them all.
"""

from .apply import apply_patch
from .budget import operation_cost, patch_cost
from .members import MemberChange, collapse_member_changes, split_member_operations
from .parse import PatchOperation, parse_patch_request

__all__ = [
    "MemberChange",
    "PatchOperation",
    "apply_patch",
    "collapse_member_changes",
    "operation_cost",
    "parse_patch_request",
    "patch_cost",
    "split_member_operations",
]
