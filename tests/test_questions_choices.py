"""Multiple-choice question sets (MMLU-style): the model sees the choices, grading is by letter.

The pure grading function is tested on the answer forms models write; reading uses the real
MMLU STEM files from ../shared; the eval run uses the scripted test double (`ScriptedBackend`),
named as such, so the expected grades are known.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verimath import Agent
from verimath.evaluation import run_evaluation
from verimath.graphs import Settings
from verimath.graphs.prompts import CHOICE_INSTRUCTION
from verimath.models import ScriptedBackend
from verimath.questions import grade_choice, read_questions
from verimath.tools.equivalence import equivalent

CHOICES = ["0", "4", "2", "6"]  # gold B: "4"


@pytest.mark.parametrize(
    "answer",
    ["B", "(B)", "B)", "B.", "\\text{B}", "\\textbf{(B)}", "$B$", "B: 4", "(B) 4", "option B",
     "B: the degree", "4", " 4 ", "$4$"],
)  # fmt: skip
def test_the_gold_letter_in_common_forms_or_the_gold_text_is_correct(answer):
    assert grade_choice("B", answer, CHOICES) is True


@pytest.mark.parametrize(
    "answer",
    ["A", "C", "(C)", "D)", "\\text{D}", "E", "2", "6", "B: 2", "(C) 4", "B or C", "Bromine",
     "b", ""],
)  # fmt: skip
def test_other_letters_other_choices_and_contradictions_are_wrong(answer):
    assert grade_choice("B", answer, CHOICES) is False


def test_a_gold_that_is_not_a_letter_is_a_clear_error():
    with pytest.raises(ValueError, match="not a choice letter A-D; give multiple-choice rows"):
        grade_choice("4", "B", CHOICES)


def test_an_mmlu_file_shows_the_model_its_choices(shared_data):
    rows, problems = read_questions(shared_data / "mmlu_stem" / "abstract_algebra.jsonl")
    first = rows[0]
    assert not problems and len(rows) == 100
    assert first.question == (
        "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q."
        f"\n\n(A) 0\n(B) 4\n(C) 2\n(D) 6\n\n{CHOICE_INSTRUCTION}"
    )
    assert first.gold == "B" and first.choices == ("0", "4", "2", "6")
    assert first.metadata == {"choices": ["0", "4", "2", "6"], "subject": "abstract_algebra"}


def test_the_mmlu_folder_reads_as_one_set_with_unique_ids(shared_data):
    rows, problems = read_questions(shared_data / "mmlu_stem")
    assert not problems and len(rows) == 2151
    assert len({row.id for row in rows}) == 2151
    assert rows[0].id == "abstract_algebra:1" and rows[-1].id == "high_school_statistics:216"
    assert {row.metadata["subject"] for row in rows} >= {"astronomy", "college_physics"}
    assert all(row.gold in {"A", "B", "C", "D"} and len(row.choices) == 4 for row in rows)


def test_bad_choice_rows_are_skipped_with_their_line(tmp_path: Path):
    path = tmp_path / "mc.jsonl"
    lines = [
        {"question": "Pick one.", "choices": ["x", "y"], "answer": "y"},  # text gold: letter B
        {"question": "Pick one.", "choices": "x, y", "answer": "A"},
        {"question": "Pick one.", "choices": ["x", "y"], "answer": "C"},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    rows, problems = read_questions(path)
    assert [row.gold for row in rows] == ["B"]
    assert problems == [
        f"{path}:2: choices must be a list of 2 to 26 non-empty strings; skipped",
        f"{path}:3: answer 'C' is neither a letter A-B nor one of the choices; skipped",
    ]


def test_eval_grades_multiple_choice_rows_by_letter(verifier, tmp_path: Path):
    data = tmp_path / "sets"
    data.mkdir()
    golds = {"algebra": ["B", "A"], "physics": ["B", "C", "B"]}
    for subject, answers in golds.items():
        records = [
            {"question": f"Question {i} on {subject}?", "choices": ["1", "2", "3", "4"],
             "answer": gold, "subject": subject}
            for i, gold in enumerate(answers)
        ]  # fmt: skip
        text = "".join(json.dumps(record) + "\n" for record in records)
        (data / f"{subject}.jsonl").write_text(text, encoding="utf-8")
    rows, problems = read_questions(data)
    assert not problems and [r.id for r in rows][:3] == ["algebra:1", "algebra:2", "physics:1"]
    scripted = ScriptedBackend(["\\boxed{B}"])
    settings = Settings(max_new_tokens=32, samples=1, refuted_retries=0)
    agent = Agent(scripted, index=False, verifier=verifier, settings=settings)

    def grade(gold, answer):  # what `verimath eval` passes; multiple choice does not use it
        return verifier.equivalent(gold, answer).equivalent

    with agent:
        (full,) = run_evaluation({"full": (agent.ask, grade)}, rows, tmp_path / "report")
    assert all("(B) 2" in call.messages[-1].content for call in scripted.calls)
    answers = [json.loads(line) for line in (tmp_path / "report" / "answers-full.jsonl").open()]
    assert {a["id"]: (a["answer"], a["correct"]) for a in answers} == {
        "algebra:1": ("B", True), "algebra:2": ("B", False),
        "physics:1": ("B", True), "physics:2": ("B", False), "physics:3": ("B", True),
    }  # fmt: skip
    assert full.accuracy == 3 / 5
    assert full.by_group["subject"] == {"algebra": (1, 2), "physics": (2, 3)}
    assert "| physics | 2/3 |" in (tmp_path / "report" / "summary.md").read_text()


# Every answer form either grader had a case for; `equivalent` (no choice texts) must say what
# `grade_choice` says without texts, and with texts wherever the answer names a letter.
GRADER_CASES = [
    ("B", answer, True)
    for answer in ["B", "(B)", "B)", "B.", "\\text{B}", "\\textbf{(B)}", "$B$", "B: 4", "(B) 4",
                   "option B", "Option B", "answer: B", "B: the degree", "(B) 42"]
] + [
    ("B", answer, False)
    for answer in ["A", "C", "(C)", "D)", "\\text{D}", "E", "C) 42", "(C) 4", "B or C",
                   "Bromine", "b", "", "4", " 4 ", "$4$", "2", "6"]
] + [("(C)", "\\text{(C)}", True), ("(C)", "C", True), ("C", "(B)", False)]  # fmt: skip
NEEDS_CHOICE_TEXTS = {"4", " 4 ", "$4$"}  # the gold's text: right only where the texts are known


@pytest.mark.parametrize(("gold", "answer", "expected"), GRADER_CASES)
def test_equivalent_and_grade_choice_agree_on_a_letter_gold(gold, answer, expected):
    assert equivalent(gold, answer).equivalent is expected
    assert grade_choice(gold, answer) is expected
    with_texts = grade_choice(gold, answer, CHOICES)
    assert with_texts is (True if answer in NEEDS_CHOICE_TEXTS else expected)


def test_a_letter_named_with_another_choices_text_needs_the_texts_to_be_wrong():
    assert grade_choice("B", "B: 2", CHOICES) is False  # "2" is choice C
    assert equivalent("B", "B: 2").equivalent is grade_choice("B", "B: 2") is True
