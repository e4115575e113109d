"""Atomic writes: a full disk is named with its path and fix; killed writes' temporaries are removable."""

import errno

import pytest

from selfimprove import atomic


def test_full_disk_names_the_path_and_leaves_the_old_version(tmp_path):
    target = tmp_path / "state.json"
    atomic.write_text(target, "old")
    with pytest.raises(atomic.DiskFullError) as err:
        with atomic.replacing(target) as tmp:
            tmp.write_text("partial")
            raise OSError(errno.ENOSPC, "No space left on device")
    message = str(err.value)
    assert message.startswith(f"disk full while writing {target}: it needs more than")
    assert "--resume" in message and "run.output_dir" in message and "\n" not in message
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_full_disk_reported_by_a_library_in_its_own_words(tmp_path):
    """safetensors says "No space left on device (os error 28)" in a message, without an errno."""
    with pytest.raises(atomic.DiskFullError):
        with atomic.replacing(tmp_path / "model.safetensors"):
            raise RuntimeError("Error while serializing: I/O error: No space left on device (os error 28)")


def test_torch_style_failure_with_room_left_is_not_called_a_full_disk(tmp_path):
    """torch.save's ENOSPC is only "unexpected pos ..."; with space free it stays what it was."""
    with pytest.raises(RuntimeError, match="unexpected pos"):
        with atomic.replacing(tmp_path / "rng.pt"):
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 576 vs 534")


def test_appends_name_the_file_too(tmp_path):
    with pytest.raises(atomic.DiskFullError, match="metrics.jsonl"):
        with atomic.disk_full_named(tmp_path / "metrics.jsonl"):
            raise OSError(errno.ENOSPC, "No space left on device")


def test_remove_leftovers_takes_only_temporaries(tmp_path):
    (tmp_path / ".round-002.tmp4242").mkdir()
    (tmp_path / ".round-002.tmp4242" / "model.safetensors").write_bytes(b"half")
    (tmp_path / ".state.json.tmp17").write_text("{")
    for keep in ("round-001", ".hidden", ".round-003.tmpx"):
        (tmp_path / keep).mkdir()
    removed = atomic.remove_leftovers(tmp_path)
    assert sorted(p.name for p in removed) == [".round-002.tmp4242", ".state.json.tmp17"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hidden", ".round-003.tmpx", "round-001"]
    assert atomic.remove_leftovers(tmp_path / "absent") == []
