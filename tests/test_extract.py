from verimath.tools import extract_final_answer, find_boxed


def test_last_boxed_answer_with_nested_braces():
    text = r"First \boxed{1}. Then $x = \boxed{\frac{-2 \pm 2i\sqrt{2}}{3}}$."
    assert extract_final_answer(text) == r"\frac{-2 \pm 2i\sqrt{2}}{3}"


def test_fbox_and_unclosed_box():
    assert find_boxed(r"so \fbox{42}") == "42"
    assert find_boxed(r"so \boxed{4") is None
    assert find_boxed(r"\boxed{1} and later \boxed{2") == "1"


def test_phrasings_take_the_last_statement():
    assert extract_final_answer("The answer is 7.\nWait, the final answer is 9.") == "9"
    assert extract_final_answer("Answer: $x = 3$") == "x = 3"
    assert extract_final_answer("**Final Answer:** 12") == "12"


def test_reasoning_without_commitment_has_no_answer():
    assert extract_final_answer("17 * 23 = 381. So 17 times 23 equals 38") is None
    assert extract_final_answer("") is None
