"""``BlobStore.delete_prefix`` never deletes the store (issue 12, finding 9).

Every caller passes ``jobs/<job id>[/chunks]``; an empty or hostile id must not
turn that into the store's root, a whole top-level directory, or a path outside.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.blobstore import FileBlobStore


@pytest.fixture
def store(tmp_path: Path) -> FileBlobStore:
    blobs = FileBlobStore(tmp_path / "blobs")
    blobs.put_bytes("jobs/a/source.pdf", b"%PDF-a")
    blobs.put_bytes("jobs/b/chunks/00000.pdf", b"%PDF-b")
    (tmp_path / "outside.txt").write_text("not ours")
    return blobs


def everything(store: FileBlobStore) -> list[str]:
    return sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*") if p.is_file())


# The prefixes the old code deleted (the outside ones it refused already).
@pytest.mark.parametrize("prefix", ["", ".", "./", "jobs", "jobs/", "jobs/.", "jobs/a/.."])
def test_the_root_and_whole_directories_are_refused(store: FileBlobStore, prefix: str) -> None:
    before = everything(store)
    with pytest.raises(ValueError, match="wider than one job"):
        store.delete_prefix(prefix)
    assert everything(store) == before
    assert (store.root.parent / "outside.txt").exists()


def test_one_jobs_files_are_deleted_and_nothing_wider(store: FileBlobStore) -> None:
    job_id = ""  # the bug this guards against: an empty id makes "jobs/"
    with pytest.raises(ValueError, match="wider than one job"):
        store.delete_prefix(f"jobs/{job_id}")
    (store.root / "jobs" / "link").symlink_to(store.root.parent)
    for outside in ["../outside.txt", "/etc", "jobs/../../outside.txt", "jobs/link", "/", ".."]:
        with pytest.raises(ValueError, match="escapes the store"):
            store.delete_prefix(outside)
    assert (store.root.parent / "outside.txt").exists()
    store.delete_prefix("jobs/b/chunks")
    store.delete_prefix("jobs/a")
    store.delete_prefix("jobs/missing")
    assert everything(store) == []
    assert (store.root / "jobs").is_dir()
