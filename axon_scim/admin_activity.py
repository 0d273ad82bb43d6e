"""The "SCIM activity" page of an organization in the Django admin.

``OrganizationActivityMixin`` adds ``<id>/activity/`` to the organization's
admin (linked from the organization list and from its change page): the
events of the last 30 days as a server-rendered SVG chart, each token's last
request and last failure, the newest failed requests and the user and group
counts (``axon_scim.activity``). Whoever may view the organization in the
admin may view its activity.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from .activity import ACTION_GROUPS, DAYS, activity, chart
from .models import Organization

__all__ = ["OrganizationActivityMixin"]


class OrganizationActivityMixin:
    """Adds the activity page to ``OrganizationAdmin`` (a ``ModelAdmin`` of ``Organization``)."""

    admin_site: Any
    model: type[Organization]

    def get_urls(self) -> list[URLPattern]:
        activity_url = path(
            "<path:object_id>/activity/",
            self.admin_site.admin_view(self.activity_view),
            name="axon_scim_organization_activity",
        )
        return [activity_url, *super().get_urls()]  # type: ignore[misc]

    @staticmethod
    def activity_url(organization: Organization) -> str:
        return reverse("admin:axon_scim_organization_activity", args=[organization.pk])

    def activity_link(self, obj: Organization) -> SafeString:
        return format_html('<a href="{}">SCIM activity</a>', self.activity_url(obj))

    activity_link.short_description = "activity"  # type: ignore[attr-defined]

    def activity_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The activity page; 404 for an organization that does not exist."""
        organization = self.get_object(request, object_id)  # type: ignore[attr-defined]
        if organization is None:
            raise Http404("No such organization.")
        if not self.has_view_or_change_permission(request, organization):  # type: ignore[attr-defined]
            raise PermissionDenied
        report = activity(organization)
        context = {
            **self.admin_site.each_context(request),
            "title": f"SCIM activity: {organization}",
            "opts": self.model._meta,
            "original": organization,
            "activity": report,
            "chart": chart(report.days),
            "action_groups": ACTION_GROUPS,
            "days": DAYS,
        }
        return TemplateResponse(request, "admin/axon_scim/organization/activity.html", context)
