"""WSGI entry point of the demo portal (gunicorn portal_demo.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal_demo.settings")
application = get_wsgi_application()
