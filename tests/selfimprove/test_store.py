import pytest

from selfimprove.store import StoreError, TraceStore
from tests.support import trace


def test_commit_read_and_load_with_datasets(tmp_path):
    store = TraceStore(tmp_path)
    a = [trace("p1", "x \\boxed{4}", True), trace("p1", "5", False, index=1)]
    store.commit(1, "generate", a, kept=[True, False], sampling={"temperature": 0.7})
    store.commit(1, "eval", [trace("p2", "no verdict yet", None)])
    store.commit(2, "rationalize", [])  # an empty phase is recorded too

    reopened = TraceStore(tmp_path)
    traces, kept = reopened.read(1, "generate")
    assert [t.completion for t in traces] == ["x \\boxed{4}", "5"] and kept == [True, False]
    assert traces[0].verification.correct and traces[1].verifier == "toy@1"
    assert reopened.has(2, "rationalize") and reopened.read(2, "rationalize") == ([], [])
    assert [t.completion for t in reopened.kept()] == ["x \\boxed{4}"]

    ds = reopened.dataset()  # files with all-null optional columns still share one schema
    assert ds.num_rows == 3
    assert set(ds["phase"]) == {"generate", "eval"} and ds["sampling_json"][0] == '{"temperature": 0.7}'


def test_append_only(tmp_path):
    store = TraceStore(tmp_path)
    store.commit(1, "generate", [trace("p1", "4", True)])
    with pytest.raises(StoreError, match="append-only"):
        store.commit(1, "generate", [trace("p1", "4", True)])


def test_orphans_of_a_crash_are_removed_and_missing_files_are_loud(tmp_path):
    store = TraceStore(tmp_path)
    store.commit(1, "generate", [trace("p1", "4", True)])
    orphan = tmp_path / "round-001" / ".eval.parquet.tmp123"
    orphan.write_bytes(b"half a file")
    assert store.remove_orphans() == [orphan] and not orphan.exists()
    (tmp_path / "round-001" / "generate.parquet").unlink()
    with pytest.raises(StoreError, match="missing"):
        TraceStore(tmp_path)
