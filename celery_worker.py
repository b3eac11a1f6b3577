"""Entry point for ``celery -A celery_worker worker`` and ``beat``."""

from backend import create_app

app = create_app()
celery = app.extensions["celery"]
