"""The tracker backends: JSONL always, W&B offline with no network, nothing on other ranks."""

import json
import time
import struct

import pytest

from selfimprove.config import load_config
from selfimprove.tracking import JsonlTracker, MultiTracker, NullTracker, build_tracker


def read_wandb_records(path):
    """Records of a W&B transaction log (.wandb): a 7-byte header, then LevelDB-style log blocks.

    wandb ships no Python reader for this file any more (its core is in Go), so the test reads
    the framing itself and parses each record with wandb's own protobuf classes.
    """
    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    assert data[:4] == b":W&B", "not a W&B transaction log"
    pos, block, payload, records = 7, 32768, b"", []
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block trailer too short for a header is padding
            pos += block - pos % block
            continue
        length, kind = struct.unpack("<HB", data[pos + 4 : pos + 7])
        if pos + 7 + length > len(data):  # a record still being written: read it on the next poll
            break
        payload += data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # FULL or LAST
            record = pb.Record()
            record.ParseFromString(payload)
            records.append(record)
            payload = b""
        elif kind == 0:
            break
    return records


def test_offline_wandb_run_holds_the_expected_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    cfg = load_config(None, ["logging.wandb=true", "logging.group=exp1", "run.name=offline-test"])
    tracker = build_tracker(cfg, tmp_path)
    tracker.log({"round": 1, "eval/pass@1": 0.25, "train/reward": 0.5, "time/generate_s": 1.5}, step=3)
    tracker.log_table("samples", ["prompt", "completion", "status"], [["1+1?", "2", "correct"]], step=3)
    tracker.finish()

    (log,) = tmp_path.glob("wandb/offline-run-*/run-*.wandb")
    # W&B's service process may still be flushing the log after finish() when the machine is busy.
    deadline = time.monotonic() + 60
    while not (records := read_wandb_records(log)) or not any(
            r.WhichOneof("record_type") == "history" for r in records):
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    history = {}
    for r in records:
        if r.WhichOneof("record_type") == "history":
            history.update({item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in r.history.item})
    assert history["eval/pass@1"] == 0.25 and history["train/reward"] == 0.5 and history["time/generate_s"] == 1.5
    assert history["samples/_type"] == "table-file", sorted(history)  # nested keys come flattened
    runs = [r.run for r in records if r.WhichOneof("record_type") == "run"]
    assert runs and runs[0].run_group == "exp1" and runs[0].project == "selfimprove"
    config_keys = {item.key for r in records if r.WhichOneof("record_type") == "run" for item in r.run.config.update}
    assert {"model", "sampling", "verifier"} <= config_keys  # the resolved config travels with the run
    # the JSONL copy is always written, so `selfimprove report` needs only the run directory
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert lines[0]["eval/pass@1"] == 0.25 and lines[0]["step"] == 3


def test_non_main_ranks_log_nothing(tmp_path):
    tracker = build_tracker(load_config(None, ["logging.wandb=true"]), tmp_path, is_main=False)
    assert isinstance(tracker, NullTracker)
    tracker.log({"x": 1}, step=1)
    tracker.finish()
    assert list(tmp_path.iterdir()) == []


def test_jsonl_is_the_default(tmp_path):
    tracker = build_tracker(load_config(None), tmp_path)
    assert isinstance(tracker, MultiTracker) and [type(t) for t in tracker.trackers] == [JsonlTracker]
