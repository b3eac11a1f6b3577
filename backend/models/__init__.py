"""ORM models, one module per aggregate. Models never commit: services do."""

from backend.models.audit import AuditLog
from backend.models.auth_token import RefreshToken, TokenRevocation
from backend.models.cache import ResultCacheEntry
from backend.models.chunk import ChunkStatus, JobChunk
from backend.models.job import Job, JobStatus, PersistenceStatus
from backend.models.user import User

__all__ = [
    "AuditLog",
    "ChunkStatus",
    "Job",
    "JobChunk",
    "JobStatus",
    "PersistenceStatus",
    "RefreshToken",
    "ResultCacheEntry",
    "TokenRevocation",
    "User",
]
