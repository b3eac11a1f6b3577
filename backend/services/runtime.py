"""Access to the running app's settings and blob store from services."""

from __future__ import annotations

from flask import current_app

from backend.blobstore import FileBlobStore
from backend.config import Settings


def settings() -> Settings:
    value: Settings = current_app.extensions["quire_settings"]
    return value


def blobs() -> FileBlobStore:
    store: FileBlobStore = current_app.extensions["quire_blobs"]
    return store
