"""Stop strings: the pure text side, and the demo model through the transformers backend."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from verimath.graphs.stopping import StopText, cut_at_stop
from verimath.models import Message, SamplingParams


def test_the_earliest_stop_string_wins_and_is_left_out():
    assert cut_at_stop("x = 1}\n\nmore\n\n", ["\n\n", "}"]) == "x = 1"
    assert cut_at_stop("no stop here", ["\n\n"]) is None
    assert cut_at_stop("anything", []) is None


def test_a_stop_string_split_across_pieces_is_never_handed_on():
    sent: list[str] = []
    text = StopText(["\n\n"], sent.append)
    assert not text.feed("the answer is 4")
    assert not text.feed("2\n")  # the "\n" may start the stop string: held back
    assert "".join(sent) == "the answer is 42"
    assert text.feed("\nand then more")
    assert text.text == "".join(sent) == "the answer is 42"
    assert text.feed("ignored after the stop") and text.text == "the answer is 42"


def test_text_held_back_is_handed_on_when_generation_ends_without_a_stop():
    sent: list[str] = []
    text = StopText(["</end>"], sent.append)
    text.feed("almost </en")
    assert "".join(sent) == "almost "
    text.finish()
    assert "".join(sent) == text.text == "almost </en" and not text.stopped


@pytest.mark.slow
def test_the_transformers_backend_keeps_the_stop_contract(demo_backend, check_stop_strings):
    check_stop_strings(demo_backend)


@pytest.mark.slow
def test_rows_of_one_batch_stop_each_at_their_own_stop_string(demo_backend):
    """Rows that stop early are padded to the batch's end; each row's text is still its own."""
    params = SamplingParams(max_new_tokens=32, stop=(".",))
    questions = [[Message("user", f"Describe the number {n} in two sentences.")] for n in (7, 12)]
    alone = [demo_backend._generate([demo_backend.render(m)], params, [None])[0] for m in questions]
    calls_before = demo_backend._batcher.stats.batches
    with ThreadPoolExecutor(len(questions)) as pool:
        together = list(pool.map(lambda m: demo_backend.complete(m, params), questions))
    assert demo_backend._batcher.stats.batches - calls_before == 1
    assert together == alone
    assert all(c.finish_reason == "stop" and "." not in c.text for c in together)
