# The one image of Quire: web (gunicorn), worker and beat (celery) differ only by command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    QUIRE_DATA_DIR=/data \
    QUIRE_BLOB_DIR=/data/blobs

WORKDIR /app

# Pinned runtime dependencies first: this layer is rebuilt only when they change.
COPY requirements.txt ./
RUN pip install -r requirements.txt

# Copied explicitly (no .venv, no quire-data in the image).
COPY pyproject.toml README.md celery_worker.py gunicorn.conf.py ./
COPY backend ./backend
COPY migrations ./migrations
RUN pip install --no-deps -e .

# Non-root. /data/blobs exists in the image with the right owner, so a named
# volume mounted there starts out writable by this user.
RUN useradd --create-home --uid 10001 quire \
    && mkdir -p /data/blobs /metrics-data \
    && chown -R quire:quire /data /metrics-data
USER quire

EXPOSE 8000
CMD ["gunicorn", "backend:create_app()", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", "--timeout", "120", "--access-logfile", "-"]
