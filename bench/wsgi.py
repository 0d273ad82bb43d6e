"""WSGI entry point of the bench servers; DJANGO_SETTINGS_MODULE picks the implementation."""

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
