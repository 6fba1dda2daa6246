"""`ReadModels` is the sum of one query class per area (projections/read_models/queries/): it
answers every question of the read contract with the contract's parameters, and no two areas
define the same method, so none hides another's."""

from __future__ import annotations

import inspect

import pytest

from projections.read_models.queries.answers import AREAS, ReadModels
from projections.read_models.queries.base import Queries
from projections.read_models.queries.contract import ReadSide

QUESTIONS = sorted(
    name for name, member in vars(ReadSide).items()
    if callable(member) and not name.startswith("_")
)


def own_methods(area: type) -> set[str]:
    return {name for name, member in vars(area).items() if callable(member)}


def test_the_contract_has_questions_to_answer() -> None:
    assert len(QUESTIONS) > 15, QUESTIONS


@pytest.mark.parametrize("question", QUESTIONS)
def test_read_models_answers_each_question_with_the_contracts_parameters(question: str) -> None:
    asked = inspect.signature(getattr(ReadSide, question)).parameters
    answered = inspect.signature(getattr(ReadModels, question)).parameters
    assert [(p.name, p.kind) for p in answered.values()] == [
        (p.name, p.kind) for p in asked.values()
    ]


def test_every_question_is_answered_by_exactly_one_area() -> None:
    for question in QUESTIONS:
        answering = [area.__name__ for area in AREAS if question in own_methods(area)]
        assert len(answering) == 1, (question, answering)


def test_no_two_areas_define_the_same_method() -> None:
    seen: dict[str, str] = {}
    for area in AREAS:
        for name in own_methods(area):
            assert name not in seen, f"{name} is in {seen.get(name)} and {area.__name__}"
            seen[name] = area.__name__


def test_read_models_is_all_the_areas_over_the_one_base() -> None:
    assert set(ReadModels.__bases__) == set(AREAS)
    assert all(area.__bases__ == (Queries,) for area in AREAS)
    assert own_methods(ReadModels) == set()
