"""One page, one limit: every list of the read side and of the API is a `Page` of the same
shape, with the same bounds (projections/read_models/queries/paging.py)."""

from __future__ import annotations

import inspect
from typing import get_type_hints

from api.http import paging as http_paging
from projections.audit import events_feed
from projections.read_models.queries import paging
from projections.read_models.queries.contract import ReadSide


def test_the_api_page_shows_the_fields_of_the_read_sides_page() -> None:
    assert list(http_paging.Page.model_fields) == list(get_type_hints(paging.Page))


def test_the_api_and_the_read_side_allow_the_same_page_sizes() -> None:
    assert http_paging.MAX_LIMIT is paging.MAX_LIMIT
    assert http_paging.DEFAULT_LIMIT is paging.DEFAULT_LIMIT
    assert events_feed.MAX_LIMIT is paging.MAX_LIMIT


def test_every_list_of_the_contract_answers_a_page_of_the_default_size() -> None:
    lists = {
        name: inspect.signature(member) for name, member in vars(ReadSide).items()
        if callable(member) and "limit" in inspect.signature(member).parameters
    }
    assert len(lists) >= 8, sorted(lists)
    for name, signature in lists.items():
        assert signature.return_annotation in ("Page", paging.Page), name
        default = signature.parameters["limit"].default
        assert default in (inspect.Parameter.empty, paging.DEFAULT_LIMIT), name
