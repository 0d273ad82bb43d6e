"""The hostile host's URLs: the demo portal's, and one endpoint of the host's own."""

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal_demo.urls import urlpatterns as portal_urlpatterns


class HostView(APIView):
    """One of the host's own endpoints, with every default of its REST_FRAMEWORK."""

    def get(self, request: Request) -> Response:
        return Response({"user": str(request.user)})


urlpatterns = [
    *portal_urlpatterns,
    path("host/api/me", HostView.as_view()),
]
