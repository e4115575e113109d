from selfimprove.config import load_config
from selfimprove.train.policy import load_policy, save_checkpoint


def test_lora_policy_saves_adapter_and_reloads_trainable(tmp_path):
    cfg = load_config(None, ["model.name=tiny-random", "run.device=cpu", "train.lora.enabled=true", "train.lora.r=4",
                             "train.lora.target_modules=[q_proj, v_proj]"])
    policy = load_policy(cfg, None)
    trainable = [n for n, p in policy.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    save_checkpoint(policy, tmp_path / "round-001")
    assert (tmp_path / "round-001" / "adapter_model.safetensors").exists()
    again = load_policy(cfg, str(tmp_path / "round-001"))
    assert any(p.requires_grad for n, p in again.model.named_parameters() if "lora_" in n)
