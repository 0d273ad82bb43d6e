"""Content negotiation of the SCIM views, by the protocol's own media-type rules.

``protocol.media.negotiate_media_type`` reads the Accept header as RFC 7231
section 5.3.2 says (quality values, ``*`` as ``*/*``, the most specific
range wins); the server answers with whatever it picks, so the helper and
the server cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable

from rest_framework import exceptions as drf
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from ..protocol.media import negotiate_media_type

__all__ = ["ScimContentNegotiation"]


class ScimContentNegotiation(DefaultContentNegotiation):
    """Chooses the renderer by ``negotiate_media_type``; 406 when the client accepts neither.

    Parsers are chosen as DRF chooses them (``ScimParser`` then checks the
    Content-Type itself). DRF's ``?format=`` override is not offered: SCIM
    defines no such parameter, and a host's ``URL_FORMAT_OVERRIDE`` setting
    must not change how SCIM answers.
    """

    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        media_type = negotiate_media_type(request.headers.get("Accept"))
        for renderer in renderers:
            if renderer.media_type == media_type:
                return renderer, media_type
        raise drf.NotAcceptable(available_renderers=renderers)
