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


@pytest.mark.parametrize(
    "prefix",
    ["", ".", "/", "./", "..", "../", "jobs", "jobs/", "jobs/.", "jobs/a/..", "jobs/a/../..", "//"],
)
def test_the_root_and_whole_directories_are_refused(store: FileBlobStore, prefix: str) -> None:
    before = everything(store)
    with pytest.raises(ValueError, match=r"wider than one job|escapes the store"):
        store.delete_prefix(prefix)
    assert everything(store) == before
    assert (store.root.parent / "outside.txt").exists()


@pytest.mark.parametrize("prefix", ["../outside.txt", "/etc", "jobs/../../outside.txt"])
def test_paths_outside_the_store_are_refused(store: FileBlobStore, prefix: str) -> None:
    with pytest.raises(ValueError, match="escapes the store"):
        store.delete_prefix(prefix)
    assert (store.root.parent / "outside.txt").exists()


def test_a_symlink_out_of_the_store_is_refused(store: FileBlobStore) -> None:
    (store.root / "jobs" / "link").symlink_to(store.root.parent)
    with pytest.raises(ValueError, match="escapes the store"):
        store.delete_prefix("jobs/link")
    assert (store.root.parent / "outside.txt").exists()


def test_one_jobs_files_are_still_deleted(store: FileBlobStore) -> None:
    store.delete_prefix("jobs/b/chunks")
    store.delete_prefix("jobs/a")
    store.delete_prefix("jobs/missing")
    assert everything(store) == []
    assert (store.root / "jobs").is_dir()
