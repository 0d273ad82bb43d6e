"""Settings for app servers that tests start as separate processes (gunicorn)."""
