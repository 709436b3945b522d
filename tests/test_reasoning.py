"""The reasoning split and the forced final answer, through the scripted backend."""

from verimath.models import (
    Message,
    SamplingParams,
    ScriptedBackend,
    generate_answer,
    split_reasoning,
)

MESSAGES = [Message("user", "What is 17 times 23?")]
PARAMS = SamplingParams(max_new_tokens=64)


def test_split_keeps_trace_apart_from_response():
    trace, response, closed = split_reasoning(
        "<think>17*23 = 391</think>\nThe answer is \\boxed{391}."
    )
    assert (trace, closed) == ("17*23 = 391", True)
    assert response == "The answer is \\boxed{391}."


def test_split_handles_trace_opened_by_the_template_and_unclosed_trace():
    assert split_reasoning("thinking</think>done") == ("thinking", "done", True)
    assert split_reasoning("<think>still thinking") == ("still thinking", "", False)
    assert split_reasoning("no tags") == ("", "no tags", True)


def test_answer_given_needs_one_call():
    backend = ScriptedBackend(["<think>17*23=391</think>\\boxed{391}"])
    generation = generate_answer(backend, MESSAGES, PARAMS)
    assert (generation.answer, generation.forced, len(backend.calls)) == ("391", False, 1)
    assert generation.reasoning == "17*23=391"


def test_budget_exhausted_inside_the_trace_forces_a_closed_short_answer():
    backend = ScriptedBackend(["<think>17 * 23: 17*20 = 340, plus 51<truncated>", "391}\n"])
    generation = generate_answer(backend, MESSAGES, PARAMS, forced_answer_tokens=16)
    assert generation.truncated and generation.forced
    assert generation.answer == "391"
    forced_call = backend.calls[1]
    assert forced_call.prefill.endswith("</think>\n\n**Final Answer**\n\\boxed{")
    assert forced_call.params.max_new_tokens == 16
    assert "</think>" not in generation.reasoning and "391" not in generation.reasoning


def test_backend_without_prefill_is_asked_in_a_new_turn():
    backend = ScriptedBackend(["I think it is large", "\\boxed{391}"], supports_prefill=False)
    generation = generate_answer(backend, MESSAGES, PARAMS)
    assert generation.answer == "391"
    follow_up = backend.calls[1].messages[-1]
    assert follow_up.role == "user" and "I think it is large" in follow_up.content


def test_model_without_think_tags_keeps_its_solution_as_the_trace():
    backend = ScriptedBackend(["17 times 23 is 391. The answer is 391."])
    generation = generate_answer(backend, MESSAGES, PARAMS)
    assert generation.answer == "391"
    assert generation.reasoning.startswith("17 times 23 is 391")


def test_a_forced_continuation_of_only_punctuation_is_no_answer():
    """The demo model sometimes 'answers' `...`; that must read as no final answer."""
    backend = ScriptedBackend(["I think the roots are<truncated>", "...}"])
    generation = generate_answer(backend, MESSAGES, PARAMS, forced_answer_tokens=16)
    assert generation.forced and generation.answer is None


def test_a_forced_answer_with_inner_braces_goes_on_until_the_box_closes():
    """Generation stops at each `}`; one closing `\\frac{1}` or `{2}` is kept and writing goes
    on, the one closing the box ends the answer (and what the model wrote after it is never
    generated)."""
    written = "\\frac{1}{2}}\n\nAnd then the model rambles on."

    def model(messages, prefill):
        if not prefill:
            return "<think>half of one is<truncated>"
        return written[len(prefill.split("\\boxed{")[-1]) :]

    backend = ScriptedBackend(model)
    generation = generate_answer(backend, MESSAGES, PARAMS, forced_answer_tokens=16)
    assert generation.forced and generation.answer == "\\frac{1}{2}"
    rounds = backend.calls[1:]
    assert len(rounds) == 3 and all(call.params.stop == ("}",) for call in rounds)
    budgets = [call.params.max_new_tokens for call in rounds]
    assert budgets[0] == 16 and budgets == sorted(budgets, reverse=True)


def test_a_forced_box_the_budget_cuts_off_ends_at_its_line():
    backend = ScriptedBackend(["<think>so<truncated>", "42\nthat was it, no brace<truncated>"])
    generation = generate_answer(backend, MESSAGES, PARAMS, forced_answer_tokens=16)
    assert generation.answer == "42" and len(backend.calls) == 2
