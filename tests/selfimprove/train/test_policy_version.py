from types import SimpleNamespace

from selfimprove.train.policy_version import versioned


def test_rollout_func_names_the_trainers_weights_by_step():
    engine = SimpleNamespace(policy="checkpoints/round-001")
    seen = []
    func = versioned(lambda prompts, trainer=None: seen.append(engine.policy) or {}, engine, "checkpoints/round-001")
    for step in (0, 0, 1, 3):
        func(["p"], SimpleNamespace(state=SimpleNamespace(global_step=step)))
    func(["p"])  # no trainer (tests): the round's starting weights
    assert seen == ["checkpoints/round-001", "checkpoints/round-001", "checkpoints/round-001@step1",
                    "checkpoints/round-001@step3", "checkpoints/round-001"]
