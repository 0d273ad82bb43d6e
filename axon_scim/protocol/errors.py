"""SCIM errors as exceptions, each rendered as an RFC 7644 section 3.12 body.

Raise a subclass anywhere below a view; one exception handler turns it into
the error response. ``status`` is sent as a string, as the RFC's examples do.
"""

from __future__ import annotations

from typing import Any

from . import constants as c
from .text import scrubbed


class ScimError(Exception):
    """Base class of every error answered with a SCIM error body."""

    status: int = 400
    scim_type: str | None = None
    default_detail = "The request could not be processed."
    # Seconds a client should wait before retrying (the Retry-After header), when that helps.
    retry_after: int | None = None

    def __init__(self, detail: str | None = None, *, scim_type: str | None = None) -> None:
        # Details quote client input; a lone surrogate in one would fail the response's encoding.
        self.detail = scrubbed(detail or self.default_detail)
        if scim_type is not None:
            self.scim_type = scim_type
        super().__init__(self.detail)

    def to_body(self) -> dict[str, Any]:
        """The error as an RFC 7644 section 3.12 JSON body."""
        body: dict[str, Any] = {"schemas": [c.ERROR], "status": str(self.status)}
        if self.scim_type:
            body["scimType"] = self.scim_type
        body["detail"] = self.detail
        return body


class BadRequestError(ScimError):
    """The request is malformed (400), with the scimType that says why."""

    scim_type = c.SCIM_TYPE_INVALID_SYNTAX
    default_detail = "The request body is not valid SCIM."


class InvalidSyntaxError(BadRequestError):
    """The body or a parameter cannot be parsed (400 invalidSyntax)."""


class InvalidFilterError(BadRequestError):
    """The filter is malformed or names an unknown attribute (400 invalidFilter)."""

    scim_type = c.SCIM_TYPE_INVALID_FILTER
    default_detail = "The filter is not valid."


class UnknownAttributeError(InvalidFilterError):
    """The filter names an attribute the resource type does not have (400 invalidFilter)."""


class InvalidPathError(BadRequestError):
    """A PATCH path is malformed or names an unknown attribute (400 invalidPath)."""

    scim_type = c.SCIM_TYPE_INVALID_PATH
    default_detail = "The path is not valid."


class NoTargetError(BadRequestError):
    """A PATCH path's filter matched nothing where a target is required (400 noTarget)."""

    scim_type = c.SCIM_TYPE_NO_TARGET
    default_detail = "The path matched no value."


class InvalidValueError(BadRequestError):
    """A value is missing, of the wrong type or refers to nothing (400 invalidValue)."""

    scim_type = c.SCIM_TYPE_INVALID_VALUE
    default_detail = "A value is not valid."


class MutabilityError(BadRequestError):
    """The request changes a read-only or immutable attribute (400 mutability)."""

    scim_type = c.SCIM_TYPE_MUTABILITY
    default_detail = "The attribute cannot be changed."


class InvalidCursorError(BadRequestError):
    """The cursor was changed, or belongs to another query or organization (400 invalidCursor)."""

    scim_type = c.SCIM_TYPE_INVALID_CURSOR
    default_detail = (
        "The cursor is not valid: send an empty cursor for the first page, then the"
        " nextCursor of the previous page with the same query."
    )


class ExpiredCursorError(BadRequestError):
    """The cursor is older than the server's cursorTimeout (400 expiredCursor)."""

    scim_type = c.SCIM_TYPE_EXPIRED_CURSOR
    default_detail = "The cursor has expired: start again with an empty cursor."


class TooManyError(BadRequestError):
    """The request asks for more results or work than the server will give (400 tooMany)."""

    scim_type = c.SCIM_TYPE_TOO_MANY
    default_detail = "Too many results; narrow the filter."


class UnauthorizedError(ScimError):
    """No valid bearer token was presented (401)."""

    status = 401
    default_detail = "Authentication credentials were missing or invalid."


class ForbiddenError(ScimError):
    """The credentials are valid but may not do this (403)."""

    status = 403
    default_detail = "You may not perform this operation."


class NotFoundError(ScimError):
    """The resource does not exist for this organization (404)."""

    status = 404
    default_detail = "Resource not found."


class MethodNotAllowedError(ScimError):
    """The endpoint does not support this HTTP method (405)."""

    status = 405
    default_detail = "Method not allowed."


class NotAcceptableError(ScimError):
    """The client accepts no media type the server can answer with (406)."""

    status = 406
    default_detail = "The server answers only application/scim+json or application/json."


class ConflictError(ScimError):
    """The resource would break a uniqueness rule (409 uniqueness)."""

    status = 409
    scim_type = c.SCIM_TYPE_UNIQUENESS
    default_detail = "A resource with this value already exists."


class BulkReferenceError(ConflictError):
    """A ``bulkId:`` reference names no created resource, or a cycle that cannot be broken (409).

    RFC 7644 section 3.7.2 answers 409 with scimType ``invalidValue``.
    """

    scim_type = c.SCIM_TYPE_INVALID_VALUE
    default_detail = "A bulkId reference cannot be resolved."


class PreconditionFailedError(ScimError):
    """The If-Match version is stale (412)."""

    status = 412
    default_detail = "The resource has changed since the version given in If-Match."


class PayloadTooLargeError(ScimError):
    """The request body is larger than the server accepts (413)."""

    status = 413
    default_detail = "The request body is too large."


class UnsupportedMediaTypeError(ScimError):
    """The request body is not application/scim+json or application/json (415)."""

    status = 415
    default_detail = "Send application/scim+json or application/json."


class TooManyRequestsError(ScimError):
    """The token has made more requests than its rate limit allows (429, with Retry-After)."""

    status = 429
    default_detail = "Too many requests; retry later."

    def __init__(self, detail: str | None = None, *, retry_after: int | None = None) -> None:
        if detail is None and retry_after is not None:
            detail = f"Too many requests; retry after {retry_after} seconds."
        super().__init__(detail)
        self.retry_after = retry_after


class ServiceUnavailableError(ScimError):
    """The server cannot answer now (a statement timeout, a lost database connection): retry (503).

    ``retry_after`` is the number of seconds the ``Retry-After`` header asks the client to wait.
    """

    status = 503
    default_detail = "The service is temporarily unavailable; retry later."

    def __init__(self, detail: str | None = None, *, retry_after: int = 5) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class InternalError(ScimError):
    """An unexpected failure; the detail never reveals internals (500)."""

    status = 500
    default_detail = "An internal error occurred. It has been logged."
