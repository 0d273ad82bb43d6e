"""The exception handler of the SCIM views: every failure as an RFC 7644 error body.

A database that cannot answer now (a statement cancelled by the statement
timeout, a connection killed or lost in a restart, a deadlock) is a 503 with
``Retry-After``: the request's transaction has rolled back, and the same
request may succeed when retried. Anything else unexpected is a 500 whose
body reveals nothing; the details go to the log.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import InterfaceError, OperationalError
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from ..conf import scim_settings
from ..protocol import errors
from ..request_failures import record_failure

__all__ = ["scim_error_for", "scim_exception_handler"]

# The logger the SCIM views have always used, so a host's LOGGING keeps working.
logger = logging.getLogger("axon_scim.views")


def scim_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """Turn every exception into an RFC 7644 section 3.12 error body; 500s reveal nothing."""
    error = scim_error_for(exc)
    # A host with ATOMIC_REQUESTS: a server-side failure may leave its request transaction
    # half-written, so it must not commit. A client error was raised before any write or
    # inside a service's own atomic block, already rolled back; its transaction may keep
    # what is worth keeping (a throttle's audit event, the failure record below).
    if error.status >= 500:
        set_rollback()
    record_failure(context.get("request"), error)  # for the admin's activity page
    response = Response(error.to_body(), status=error.status)
    if error.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="SCIM"'
    if error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    return response


def scim_error_for(exc: Exception) -> errors.ScimError:
    """The SCIM error that answers ``exc``; a 5xx is logged here, with the details it hides.

    The handler answers a request with it; ``BulkView`` answers one operation.
    """
    error = _as_scim_error(exc)
    if isinstance(error, errors.ServiceUnavailableError):
        logger.warning("SCIM request failed: the database cannot answer now", exc_info=exc)
    elif error.status >= 500:
        logger.exception("SCIM request failed", exc_info=exc)
    return error


# SQLSTATE of a statement cancelled by statement_timeout (or by a cancel request).
QUERY_CANCELED = "57014"


def _database_unavailable(exc: OperationalError | InterfaceError) -> errors.ServiceUnavailableError:
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    detail = (
        "The request took longer than this server allows and was rolled back; retry later."
        if sqlstate == QUERY_CANCELED
        else "The database could not complete the request; it was rolled back. Retry later."
    )
    return errors.ServiceUnavailableError(detail, retry_after=scim_settings.RETRY_AFTER)


def _as_scim_error(exc: Exception) -> errors.ScimError:
    if isinstance(exc, errors.ScimError):
        return exc
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        return errors.UnauthorizedError()
    if isinstance(exc, drf.PermissionDenied):
        return errors.ForbiddenError()
    if isinstance(exc, drf.MethodNotAllowed):
        return errors.MethodNotAllowedError(str(exc.detail))
    if isinstance(exc, drf.NotAcceptable):
        return errors.NotAcceptableError()
    if isinstance(exc, drf.UnsupportedMediaType):
        return errors.UnsupportedMediaTypeError()
    if isinstance(exc, drf.ParseError):
        return errors.InvalidSyntaxError(str(exc.detail))
    if isinstance(exc, drf.NotFound):
        return errors.NotFoundError()
    if isinstance(exc, drf.Throttled):
        # DRF sets ``wait`` (whole seconds) from the throttles; the stubs omit it.
        return errors.TooManyRequestsError(retry_after=getattr(exc, "wait", None))
    if isinstance(exc, OperationalError | InterfaceError):
        return _database_unavailable(exc)
    return errors.InternalError()
