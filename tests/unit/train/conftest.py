"""A tiny randomly initialised Llama (the embedded model's architecture) with a tiny byte-level BPE tokenizer and
SmolLM2's chat template, saved to a folder once per session; and a two-function API. No download."""

from __future__ import annotations

from pathlib import Path

import pytest

#: SmolLM2's chat template (the one the embedded GGUF carries)
CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

API_SOURCE = '''"""A tiny API for the training tests."""


def add(a: int, b: int) -> int:
    """Add two numbers.

    Parameters
    ----------
    a : the first number
    b : the second number
    """
    return a + b


def greet(name: str, loud: bool = False) -> str:
    """Greet someone by name.

    Parameters
    ----------
    name : who to greet
    loud : shout it
    """
    return ("HELLO " + name.upper()) if loud else "hello " + name
'''


def _tokenizer(texts: list[str]):  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                   pad_token="<|im_end|>")
    fast.chat_template = CHAT_TEMPLATE
    return fast


@pytest.fixture(scope="session")
def tiny_api_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("api") / "tiny_tools.py"
    path.write_text(API_SOURCE)
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, tiny_api_path: Path) -> Path:
    """A folder with a 2-layer Llama (hidden size 64) and its tokenizer, trained on the tiny API's prompts."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from simulacra.text.calls import load_api, system_prompt

    with load_api(tiny_api_path) as api:
        texts = [system_prompt(api), CHAT_TEMPLATE, '<tool_call>{"name": "add", "arguments": {"a": 1, "b": 2}}</tool_call>',
                 "None of the available functions can do that. Add 3 and 4. Say hello to Ann. What is the weather?"] * 3
    tok = _tokenizer(texts)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                         tie_word_embeddings=True, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                         pad_token_id=tok.pad_token_id)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = LlamaForCausalLM(config)
    folder = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


#: function-calling rows for the tiny API: one call, one request that needs none
ROWS = [{"request": "Add 3 and 4.", "call": {"name": "add", "arguments": {"a": 3, "b": 4}}},
        {"request": "What is the weather?", "call": None}]


def _fast_settings():  # type: ignore[no-untyped-def]
    """Full fine-tuning of the tiny model at a high constant rate: it learns the two rows in 60 steps."""
    from simulacra.train.loop import TrainSettings

    return TrainSettings(lora=False, learning_rate=1e-2, batch_size=2, epochs=60, scheduler="constant",
                         max_length=512, save_steps=1000, threads=1, bf16=False)


def _write_rows(path: Path, rows: list[dict]) -> Path:  # type: ignore[type-arg]
    import json

    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="session")
def tuned_tiny(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path, tiny_api_path: Path) -> tuple[Path, list]:  # type: ignore[type-arg]
    """The tiny model fine-tuned on :data:`ROWS` (folder, manifests)."""
    from simulacra.text.calls import load_api
    from simulacra.train.sft import train_sft

    root = tmp_path_factory.mktemp("sft")
    with load_api(tiny_api_path) as api:
        info = train_sft(_write_rows(root / "calls.jsonl", ROWS), base=tiny_model, output=root / "tuned", api=api,
                         settings=_fast_settings(), progress=False)
    return root / "tuned", info


@pytest.fixture
def rows() -> list[dict]:  # type: ignore[type-arg]
    """:data:`ROWS` (a copy)."""
    import copy

    return copy.deepcopy(ROWS)


@pytest.fixture
def fast_settings():  # type: ignore[no-untyped-def]
    return _fast_settings()


@pytest.fixture
def write_rows():  # type: ignore[no-untyped-def]
    """``write_rows(path, rows) -> path``: rows as JSONL."""
    return _write_rows
