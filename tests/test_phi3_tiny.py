"""The transformers path for Phi-4-mini-reasoning, exercised on a tiny randomly initialised Phi3
model with the real architecture's features (partial rotary 0.75, LongRoPE, GQA, tied
embeddings) and Phi-4-mini's chat format. The weights are random, so only plumbing is tested:
local-folder loading, the chat template, budgets, the forced final answer and honest status."""

from __future__ import annotations

from pathlib import Path

import pytest

from verimath import Agent, Settings
from verimath.models import Message, SamplingParams, TransformersBackend, load_backend

pytestmark = pytest.mark.slow

# Phi-4-mini-reasoning's format: a fixed system preamble, then <|role|>content<|end|> turns.
PHI4_MINI_TEMPLATE = (
    "{{ '<|system|>Your name is Phi, an AI math expert developed by Microsoft.' }}"
    "{% for message in messages %}{% if message['role'] == 'system' %}"
    "{{ ' ' + message['content'] + '<|end|>' }}{% endif %}{% endfor %}"
    "{% if messages[0]['role'] != 'system' %}{{ '<|end|>' }}{% endif %}"
    "{% for message in messages %}{% if message['role'] != 'system' %}"
    "{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)
SPECIALS = ["<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]


@pytest.fixture(scope="module")
def tiny_phi3(tmp_path_factory) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import Phi3Config, Phi3ForCausalLM, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-phi3")
    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    raw.train_from_iterator(
        ["Solve 3x^2+4x+5=1. <think> x = \\boxed{1} </think> the answer"], trainer
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw, eos_token="<|endoftext|>", pad_token="<|endoftext|>"
    )
    tokenizer.chat_template = PHI4_MINI_TEMPLATE
    tokenizer.save_pretrained(folder)
    rotary_pairs = int(16 * 0.75) // 2  # head_dim 16, partial rotary 0.75
    config = Phi3Config(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, partial_rotary_factor=0.75,
        max_position_embeddings=131072, original_max_position_embeddings=4096,
        rms_norm_eps=1e-5, tie_word_embeddings=True,
        rope_parameters={"rope_type": "longrope", "rope_theta": 10000.0,
                         "short_factor": [1.0] * rotary_pairs, "long_factor": [1.5] * rotary_pairs,
                         "partial_rotary_factor": 0.75},
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
    )  # fmt: skip
    Phi3ForCausalLM(config).save_pretrained(folder)
    return folder


def test_local_folder_loads_as_a_transformers_backend(tiny_phi3):
    backend = load_backend(str(tiny_phi3))
    assert isinstance(backend, TransformersBackend)
    prompt = backend.render([Message("system", "Be careful."), Message("user", "1+1?")], "<think>")
    assert prompt == (
        "<|system|>Your name is Phi, an AI math expert developed by Microsoft. Be careful.<|end|>"
        "<|user|>1+1?<|end|><|assistant|><think>"
    )
    completion = backend.complete([Message("user", "1+1?")], SamplingParams(max_new_tokens=5))
    assert completion.completion_tokens <= 5 and completion.prompt_tokens > 5


def test_random_phi3_through_the_graph_is_never_verified_by_accident(tiny_phi3, verifier):
    settings = Settings(  # the model's own answer: SymPy would solve this quadratic itself
        max_new_tokens=12, forced_answer_tokens=6, samples=1, refuted_retries=0,
        sympy_answer=False,
    )  # fmt: skip
    with Agent(str(tiny_phi3), index=False, verifier=verifier, settings=settings) as agent:
        answer = agent.ask("Solve 3x^2+4x+5=1")
    assert answer.status in {"unverified", "refuted"}
    assert answer.truncated and any("forced" in note for note in answer.guardrails)
    assert answer.answer is None or "<think>" not in answer.answer
    assert 12 < answer.usage.completion_tokens <= 18
