"""benchmarks/self_improve_bench/tuning.py: variants, the plan of runs, and a record that --resume extends."""

import argparse

import pytest

from benchmarks.self_improve_bench import record, tuning


def test_variants_parse_and_bad_ones_are_named():
    assert tuning.parse_variant("wide=train.prompts_per_round=96; train.rft.samples_per_prompt=4") == (
        "wide", ["train.prompts_per_round=96", "train.rft.samples_per_prompt=4"])
    assert tuning.parse_variant("g=train.schedule=[rft,grpo];verifier.options.score=fraction") == (
        "g", ["train.schedule=[rft,grpo]", "verifier.options.score=fraction"])
    for bad in ("wide", "wide=", "9x=a=1", "wide=train.prompts_per_round"):
        with pytest.raises(argparse.ArgumentTypeError, match="NAME=KEY=VALUE"):
            tuning.parse_variant(bad)


def test_the_plan_puts_baselines_first_and_refuses_a_taken_name():
    variants = [("lr", ["train.rft.learning_rate=2e-5"]), ("one", ["train.rft.epochs=1"])]
    runs = tuning.plan({"ours": []}, variants)
    assert list(runs) == ["ours", "lr", "one"] and runs["lr"] == ["train.rft.learning_rate=2e-5"]
    for bad in ([("ours", ["a=1"])], [("random", ["a=1"])], [("lr", ["a=1"]), ("lr", ["a=2"])]):
        with pytest.raises(SystemExit, match="names must be new"):
            tuning.plan({"ours": []}, bad, reserved=("base", "random"))


def test_a_record_is_new_or_resumed_with_the_same_settings(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    assert tuning.open_record(path, False, {"a": 1}, lambda: {"settings": {"a": 1}, "variants": {}})["variants"] == {}
    record.save(path, {"settings": {"a": 1}, "variants": {"ours": {"overrides": []}}})
    with pytest.raises(SystemExit, match="pass --resume"):
        tuning.open_record(path, False, {"a": 1}, dict)
    with pytest.raises(SystemExit, match="settings differ"):
        tuning.open_record(path, True, {"a": 2}, dict)
    results = tuning.open_record(path, True, {"a": 1}, dict)
    assert set(results["variants"]) == {"ours"}

    ran = []
    monkeypatch.setattr(tuning.child, "in_child", lambda fn, *args: fn(*args))
    monkeypatch.setattr(record, "git_state", lambda: {"git_commit": "c" * 40})

    def run(name, overrides, context):
        ran.append((name, context))
        return {"overrides": overrides}

    tuning.run_variants(path, results, {"ours": [], "lr": ["x=1"]}, run, ("ctx",), lambda r: "table")
    assert ran == [("lr", "ctx")]  # ours was in the record already
    assert record.load(path)["variants"]["lr"]["git_commit"] == "c" * 40  # saved after the run
    with pytest.raises(SystemExit, match="other overrides"):
        tuning.run_variants(path, results, {"lr": ["x=2"]}, run, ("ctx",), lambda r: "table")
