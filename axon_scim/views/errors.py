"""The exception handler of the SCIM views: every failure as an RFC 7644 error body."""

from __future__ import annotations

import logging
from typing import Any

from rest_framework import exceptions as drf
from rest_framework.response import Response

from ..protocol import errors
from ..request_failures import record_failure

__all__ = ["scim_exception_handler"]

# The logger the SCIM views have always used, so a host's LOGGING keeps working.
logger = logging.getLogger("axon_scim.views")


def scim_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """Turn every exception into an RFC 7644 section 3.12 error body; 500s reveal nothing."""
    error = _as_scim_error(exc)
    if error.status >= 500:
        logger.exception("SCIM request failed", exc_info=exc)
    record_failure(context.get("request"), error)  # for the admin's activity page
    response = Response(error.to_body(), status=error.status)
    if error.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="SCIM"'
    if isinstance(error, errors.TooManyRequestsError) and error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    return response


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
    return errors.InternalError()
