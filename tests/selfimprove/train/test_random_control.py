import json

from datasets import load_dataset

from selfimprove.config import load_config
from selfimprove.train.random_control import RandomControl, ShuffledControl, training_runtime
from selfimprove.train.loop import run_train
from tests.support import tiny_overrides
from verifiers.runtime import VerifierRuntime, VerifyItem


def test_control_verdicts_are_fair_coins_independent_of_correctness_and_stable():
    with VerifierRuntime("math", {}, workers=1, in_process=True) as runtime:
        control = RandomControl(runtime, seed=3)
        right = [VerifyItem(f"so \\boxed{{{i + 1}}}", str(i + 1)) for i in range(400)]
        wrong = [VerifyItem(f"so \\boxed{{{i + 2}}}", str(i + 1)) for i in range(400)]
        a, b = control.verify_batch(right), control.verify_batch(wrong)
        assert 0.4 < sum(v.correct for v in a) / 400 < 0.6 and 0.4 < sum(v.correct for v in b) / 400 < 0.6
        assert [v.correct for v in control.verify_batch(right)] == [v.correct for v in a]  # same item, same coin
        assert [v.correct for v in RandomControl(runtime, seed=4).verify_batch(right)] != [v.correct for v in a]
        assert training_runtime(load_config(None, ["train.reward=random"]), runtime).identity == "random-control"
        assert training_runtime(load_config(None), runtime) is runtime


def test_shuffled_control_keeps_the_batch_count_but_not_which_samples_are_right():
    with VerifierRuntime("math", {}, workers=1, in_process=True) as runtime:
        control = ShuffledControl(runtime, seed=3)
        right = [VerifyItem(f"so \\boxed{{{i + 1}}}", str(i + 1)) for i in range(100)]
        wrong = [VerifyItem(f"so \\boxed{{{i + 2}}}", str(i + 1)) for i in range(300)]
        batch = right + wrong
        verdicts = control.verify_batch(batch)
        assert sum(v.correct for v in verdicts) == 100  # exactly the verifier's count
        on_right = sum(v.correct for v in verdicts[:100])
        assert 10 <= on_right <= 45  # about a quarter, as chance gives; the verifier would say 100
        assert [v.correct for v in control.verify_batch(batch)] == [v.correct for v in verdicts]  # resumable
        assert [v.correct for v in ShuffledControl(runtime, seed=4).verify_batch(batch)] != [
            v.correct for v in verdicts]
        assert all(v.extracted is None and "shuffled" in v.feedback for v in verdicts)
        cfg = load_config(None, ["train.reward=shuffled"])
        assert training_runtime(cfg, runtime).identity == "shuffled-control"


def test_shuffled_control_in_the_loop_sees_the_verifiers_pass_rate_on_other_samples(tmp_path):
    """One rft round, same seed, with the verifier and under the control: the same samples and the
    same training reward, but the control keeps other traces."""
    runs = {}
    for reward in ("verifier", "shuffled"):
        cfg = load_config(None, tiny_overrides(tmp_path, reward, **{
            "train.rounds": 1, "train.reward": reward, "train.eval_before": False, "train.rft.epochs": 1}))
        run_train(cfg, quiet=True)
        lines = [json.loads(line) for line in (tmp_path / reward / "metrics.jsonl").read_text().splitlines()]
        parquet = tmp_path / reward / "traces" / "round-001" / "generate.parquet"
        generated = load_dataset("parquet", data_files=str(parquet))["train"]
        runs[reward] = ([m["generate/reward_mean"] for m in lines if "generate/reward_mean" in m],
                        generated["completion"], generated["status"], generated["kept"])
    (reward_v, texts_v, status_v, kept_v), (reward_s, texts_s, status_s, kept_s) = runs["verifier"], runs["shuffled"]
    assert texts_v == texts_s and reward_v == reward_s and 0 < reward_v[0] < 1
    assert status_v != status_s and sorted(status_v) == sorted(status_s) and kept_v != kept_s
