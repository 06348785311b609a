"""The demo catalogue's data files (data/demo_catalogue/) against the publish gate.

The files are edited by hand: these checks stand where a generator's self-check once did.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from models.catalogue import guide_problems, read_demo, read_department_files

FILES = read_department_files()


def test_every_department_has_its_file_and_the_city_its_regions_and_themes() -> None:
    demo = read_demo()
    assert len(FILES) == len(demo["departments"]) >= 14
    assert demo["regions"] and demo["themes"]
    orders = Counter(f["department"]["order"] for f in FILES.values())
    assert [order for order, n in orders.items() if n > 1] == []  # the navigation order is the files' own


@pytest.mark.parametrize("name", sorted(FILES))
def test_a_file_holds_its_own_department_and_only_its_items(name: str) -> None:
    department = FILES[name]["department"]["code"]
    assert department == name
    strays = [i["code"] for i in FILES[name]["items"] + FILES[name]["drafts"] if i.get("department") != department]
    assert strays == []


def test_item_codes_are_unique_across_files() -> None:
    codes = Counter(i["code"] for f in FILES.values() for i in f["items"] + f["drafts"])
    assert {code: n for code, n in codes.items() if n > 1} == {}


@pytest.mark.parametrize("name", sorted(FILES))
def test_every_item_of_a_department_would_publish(name: str) -> None:
    failing = {item["code"]: [(p.field, p.code) for p in guide_problems(item)] for item in FILES[name]["items"]}
    assert {code: problems for code, problems in failing.items() if problems} == {}


def test_the_drafts_are_meant_to_be_refused() -> None:
    drafts = [d for f in FILES.values() for d in f["drafts"]]
    assert drafts
    assert [d["code"] for d in drafts if not guide_problems(d)] == []


def _without_time_limit(item: dict[str, Any]) -> None:
    del item["guide"]["legal_time_limit_days"]


def _without_fee(item: dict[str, Any]) -> None:
    del item["guide"]["fee"]


def _without_contact(item: dict[str, Any]) -> None:
    del item["guide"]["consultation_phone"]


def _without_form_download(item: dict[str, Any]) -> None:
    del item["guide"]["materials"][3]["template_url"]  # the exit-entry application form


@pytest.mark.parametrize(("remove", "expected"), [
    (_without_time_limit, ("guide.legal_time_limit_days", "required")),
    (_without_fee, ("guide.fee", "required")),
    (_without_contact, ("guide.consultation_phone", "required")),
    (_without_form_download, ("guide.materials[3].template_url", "template_required")),
])
def test_a_demo_item_missing_an_element_is_refused(remove: Callable[[dict[str, Any]], None],
                                                   expected: tuple[str, str]) -> None:
    """The check above can fail: the same data, one element short, does not pass the gate."""
    item = copy.deepcopy(next(i for i in FILES["gongan"]["items"] if i["code"] == "GA-0001"))
    assert guide_problems(item) == []
    remove(item)
    assert [(p.field, p.code) for p in guide_problems(item)] == [expected]
