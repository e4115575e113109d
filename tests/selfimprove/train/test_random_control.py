from selfimprove.config import load_config
from selfimprove.train.random_control import RandomControl, training_runtime
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
