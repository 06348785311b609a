"""Catalogue rules without a server: the publish gate, locale fallback, the misfiling check."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from models import catalogue
from models.catalogue import guide_problems, localize, misfiling_problems, resolve_locale, text

DEMO = catalogue.read_demo()
DEPARTMENTS = {d["code"]: d for d in DEMO["departments"]}
THEMES = {t["code"]: t for t in DEMO["themes"]}


def demo_item(code: str) -> dict[str, Any]:
    return copy.deepcopy(next(i for i in DEMO["items"] if i["code"] == code))


def found(item: dict[str, Any]) -> set[tuple[str, str]]:
    return {(p.field, p.code) for p in guide_problems(item)}


# ---- the publish gate --------------------------------------------------------------------------

def test_every_demo_item_passes_the_gate() -> None:
    assert len(DEMO["items"]) >= 80
    failing = {i["code"]: [(p.field, p.code) for p in guide_problems(i)] for i in DEMO["items"] if guide_problems(i)}
    assert failing == {}


def test_demo_catalogue_is_broad_and_consistent() -> None:
    items = DEMO["items"]
    assert len({i["code"] for i in items}) == len(items)
    assert len({i["department"] for i in items}) >= 14
    assert {i["department"] for i in items} <= set(DEPARTMENTS)
    assert {t for i in items for t in i["themes"]} <= set(THEMES)
    regions = {r["code"]: r for r in DEMO["regions"]}
    assert {i["region_code"] for i in items} <= set(regions)
    assert sum(1 for r in regions.values() if r["parent"] == "330100") >= 3
    assert any(i["region_code"] != "330100" for i in items)  # county-level items exist
    assert all(i["name"].get("en") for i in items)
    paper_forms = [m for i in items for m in i["guide"]["materials"] if m.get("template_url")]
    assert len(paper_forms) >= 40
    paid = [i for i in items if not i["guide"]["fee"]["free"]]
    assert paid and all(i["guide"]["fee"]["amount_fen"] > 0 for i in paid)


def test_a_complete_item_has_no_problems() -> None:
    assert guide_problems(demo_item("GA-0001")) == []


Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(item: dict[str, Any]) -> None:
        target = item
        keys = path.split(".")
        for key in keys[:-1]:
            target = target[int(key)] if isinstance(target, list) else target[key]
        last = keys[-1]
        if value is KeyError:
            if isinstance(target, list):
                del target[int(last)]
            else:
                target.pop(last, None)
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    return mutate


FORM_WITHOUT_TEMPLATE = {"key": "form", "name": {"zh-CN": "护照申请表"}, "original_or_copy": "original", "copies": 1,
                         "medium": "paper", "required": True}

CASES: list[tuple[str, Mutation, str, str]] = [
    ("legal basis missing", _set("guide.legal_basis", KeyError), "guide.legal_basis", "required"),
    ("legal basis 相关法规", _set("guide.legal_basis", {"zh-CN": "相关法规"}), "guide.legal_basis", "vague_legal_basis"),
    ("legal basis 有关规定", _set("guide.legal_basis", {"zh-CN": "依据国家有关规定办理"}), "guide.legal_basis",
     "vague_legal_basis"),
    ("law named without article", _set("guide.legal_basis", {"zh-CN": "《中华人民共和国护照法》"}), "guide.legal_basis",
     "vague_legal_basis"),
    ("legal basis only in English", _set("guide.legal_basis", {"en": "Passport Law, Article 5"}), "guide.legal_basis",
     "missing_zh"),
    ("conditions missing", _set("guide.conditions", KeyError), "guide.conditions", "required"),
    ("conditions 符合有关规定", _set("guide.conditions", {"zh-CN": "符合有关规定。"}), "guide.conditions", "vague_conditions"),
    ("no materials", _set("guide.materials", []), "guide.materials", "required"),
    ("material 相关材料", _set("guide.materials.0.name", {"zh-CN": "相关材料"}), "guide.materials[0].name", "vague_material"),
    ("material 相关表格", _set("guide.materials.1.name", {"zh-CN": "相关表格"}), "guide.materials[1].name", "vague_material"),
    ("material 其他材料", _set("guide.materials.0.name", {"zh-CN": "其他材料"}), "guide.materials[0].name", "vague_material"),
    ("paper form without template", _set("guide.materials.0", FORM_WITHOUT_TEMPLATE), "guide.materials[0].template_url",
     "template_required"),
    ("material copies missing", _set("guide.materials.0.copies", KeyError), "guide.materials[0].copies", "required"),
    ("material original/copy missing", _set("guide.materials.0.original_or_copy", KeyError),
     "guide.materials[0].original_or_copy", "required"),
    ("material medium wrong", _set("guide.materials.0.medium", "fax"), "guide.materials[0].medium", "invalid"),
    ("electronic material without types", _set("guide.materials.0.allowed_types", KeyError),
     "guide.materials[0].allowed_types", "required"),
    ("process missing", _set("guide.process", []), "guide.process", "required"),
    ("process 申请-审核-核准-发照", _set("guide.process", [{"zh-CN": "申请-审核-核准-发照"}]), "guide.process",
     "generic_process"),
    ("process of stage names", _set("guide.process", [{"zh-CN": "申请"}, {"zh-CN": "受理"}, {"zh-CN": "审核"},
                                                      {"zh-CN": "发证"}]), "guide.process", "generic_process"),
    ("legal time limit missing", _set("guide.legal_time_limit_days", KeyError), "guide.legal_time_limit_days", "required"),
    ("promised time limit missing", _set("guide.promised_time_limit_days", KeyError), "guide.promised_time_limit_days",
     "required"),
    ("promised longer than legal", _set("guide.promised_time_limit_days", 30), "guide.promised_time_limit_days",
     "inconsistent"),
    ("legal time limit past any calendar", _set("guide.legal_time_limit_days", 10**15), "guide.legal_time_limit_days",
     "invalid"),
    ("no fee statement", _set("guide.fee", KeyError), "guide.fee", "required"),
    ("fee without amount", _set("guide.fee.amount_fen", KeyError), "guide.fee.amount_fen", "required"),
    ("fee basis vague", _set("guide.fee.basis", {"zh-CN": "按相关规定收取"}), "guide.fee.basis", "vague_legal_basis"),
    ("no locations", _set("guide.locations", []), "guide.locations", "required"),
    ("location without hours", _set("guide.locations.0.office_hours", KeyError), "guide.locations[0].office_hours",
     "required"),
    ("no consultation phone", _set("guide.consultation_phone", KeyError), "guide.consultation_phone", "required"),
    ("no supervision phone", _set("guide.supervision_phone", ""), "guide.supervision_phone", "required"),
    ("phone not a phone", _set("guide.consultation_phone", "call us"), "guide.consultation_phone", "invalid"),
    ("no result", _set("guide.result", KeyError), "guide.result", "required"),
    ("no delivery statement", _set("guide.delivery", KeyError), "guide.delivery.by_post", "required"),
    ("name without zh-CN", _set("name", {"en": "Passport"}), "name", "missing_zh"),
    ("bad region", _set("region_code", "3301"), "region_code", "invalid"),
    ("region in fullwidth digits", _set("region_code", "３３０１００"), "region_code", "invalid"),
    ("region with a newline", _set("region_code", "330100\n"), "region_code", "invalid"),
    ("phone in Arabic-Indic digits", _set("guide.consultation_phone", "٠٥٧١-١٢٣٤٥"), "guide.consultation_phone", "invalid"),
    ("no audience", _set("audience", []), "audience", "required"),
    ("audience of objects", _set("audience", [{}]), "audience", "invalid"),
]


@pytest.mark.parametrize(("mutate", "field", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_gate_names_each_missing_or_vague_element(mutate: Mutation, field: str, code: str) -> None:
    item = demo_item("GA-0001")
    mutate(item)
    problems = guide_problems(item)
    assert (field, code) in {(p.field, p.code) for p in problems}
    problem = next(p for p in problems if (p.field, p.code) == (field, code))
    assert problem.zh and problem.en and problem.zh != problem.en


def test_an_online_item_needs_a_form() -> None:
    item = demo_item("JJ-0001")
    assert item["handling_depth"] == "whole_process_online"
    del item["form_schema"]
    assert ("form_schema", "required") in found(item)
    item["handling_depth"] = "at_most_one_visit"  # paper-only items may do without
    assert ("form_schema", "required") not in found(item)
    item["form_schema"] = {"type": "object", "properties": {"x": {"type": "string"}}}
    assert ("form_schema.properties.x.title", "required") in found(item)


def test_a_form_filled_on_paper_needs_its_template_but_an_id_card_does_not() -> None:
    item = demo_item("GA-0001")
    form = next(m for m in item["guide"]["materials"] if m["key"] == "exit_entry_form")
    form.pop("template_url")
    assert ("guide.materials[3].template_url", "template_required") in found(item)
    id_card = item["guide"]["materials"][0]
    assert "template_url" not in id_card
    assert not any(f.startswith("guide.materials[0]") for f, _ in found(item))


def test_the_demo_draft_fails_with_every_element_named() -> None:
    draft = DEMO["drafts"][0]
    problems = found(draft)
    for expected in [("guide.legal_basis", "vague_legal_basis"), ("guide.conditions", "vague_conditions"),
                     ("guide.materials[0].name", "vague_material"), ("guide.process", "generic_process"),
                     ("guide.legal_time_limit_days", "required"), ("guide.promised_time_limit_days", "required"),
                     ("guide.fee", "required"), ("guide.locations", "required"),
                     ("guide.consultation_phone", "required"), ("guide.supervision_phone", "required"),
                     ("guide.delivery.by_post", "required")]:
        assert expected in problems
    assert len(problems) == 11


def test_everything_missing_at_once() -> None:
    problems = found({"code": "X-0001"})
    for field in ("name", "department", "region_code", "audience", "handling_depth", "guide.legal_basis",
                  "guide.conditions", "guide.materials", "guide.process", "guide.legal_time_limit_days",
                  "guide.fee", "guide.locations", "guide.consultation_phone", "guide.supervision_phone",
                  "guide.result", "guide.delivery.by_post"):
        assert (field, "required") in problems, field


def test_a_free_item_needs_no_amount() -> None:
    item = demo_item("GA-0005")
    assert item["guide"]["fee"] == {"free": True}
    assert guide_problems(item) == []
    item["guide"]["fee"] = {"free": "no"}
    assert ("guide.fee", "required") in found(item)


# ---- locale ------------------------------------------------------------------------------------

def test_text_falls_back_to_chinese() -> None:
    value = {"zh-CN": "普通护照签发", "en": "Ordinary passport issuance"}
    assert text(value, "en") == "Ordinary passport issuance"
    assert text(value, "zh-CN") == "普通护照签发"
    assert text(value, "fr") == "普通护照签发"
    assert text({"zh-CN": "出生登记"}, "en") == "出生登记"
    assert text({"zh-CN": "出生登记", "en": "  "}, "en") == "出生登记"
    assert text("plain", "en") == "plain"


def test_resolve_locale() -> None:
    assert resolve_locale("en") == "en"
    assert resolve_locale("en-GB") == "en"
    assert resolve_locale("zh-CN") == "zh-CN"
    assert resolve_locale("zh-TW") == "zh-CN"
    assert resolve_locale("fr") == "zh-CN"
    assert resolve_locale(None) == "zh-CN"


def test_localize_a_whole_item() -> None:
    item = demo_item("GA-0001")
    english = localize(item, "en")
    assert english["name"] == "Ordinary passport issuance"
    assert english["guide"]["legal_basis"].startswith("Passport Law of the PRC")
    assert english["guide"]["materials"][0]["name"] == "Resident identity card"
    assert english["guide"]["fee"]["free"] is False and isinstance(english["guide"]["fee"]["basis"], str)
    assert english["form_schema"]["properties"]["applicant_name"]["title"] == "Applicant's name"
    # where no English was written, the Chinese text stands in (not a gap)
    birth = localize(demo_item("GA-0005"), "en")
    assert birth["guide"]["process"][-1] == "Collect the updated household register booklet on the spot."
    assert localize(demo_item("GA-0006"), "en")["guide"]["conditions"].startswith("离开常住户口所在地")
    chinese = localize(item, "zh-CN")
    assert chinese["name"] == "普通护照签发"
    assert chinese["form_schema"]["properties"]["applicant_name"]["title"] == "申请人姓名"
    assert '"zh-CN"' not in json.dumps(chinese, ensure_ascii=False)
    titles = "x-enum-titles"
    assert chinese["form_schema"]["properties"]["delivery"][titles] == ["窗口领取", "邮政寄递"]
    assert english["form_schema"]["properties"]["delivery"][titles] == ["Collect at the window", "By post"]
    assert catalogue.is_localized({"zh-CN": "a"}) and not catalogue.is_localized({"free": True})
    form = {"type": "object", "properties": {"to": {"type": "string", "title": "前往", "x-title-en": "To"},
                                             "id": {"type": "string", "title": "编号"}}}
    assert localize(form, "en")["properties"]["to"]["title"] == "To"  # field names are not locales


# ---- misfiling -----------------------------------------------------------------------------------

def test_demo_items_are_filed_where_they_belong() -> None:
    reports = {i["code"]: misfiling_problems(i, DEPARTMENTS, THEMES) for i in DEMO["items"]}
    assert {code: r for code, r in reports.items() if r} == {}


def test_driver_training_under_environment_is_reported() -> None:
    item = demo_item("JT-0003")  # 机动车驾驶员培训经营备案
    item["department"], item["themes"] = "shengtai", ["environment"]
    assert misfiling_problems(item, DEPARTMENTS, THEMES) == [
        {"field": "department", "value": "shengtai", "reason": "keywords_mismatch"},
        {"field": "themes", "value": "environment", "reason": "keywords_mismatch"},
    ]


def test_emission_permit_under_ethnic_affairs_is_reported() -> None:
    item = demo_item("ST-0001")  # 排污许可证核发
    item["department"] = "minzong"
    problems = misfiling_problems(item, DEPARTMENTS, THEMES)
    assert problems == [{"field": "department", "value": "minzong", "reason": "keywords_mismatch"}]


def test_aliases_count_and_unknown_codes_are_reported() -> None:
    item = {"code": "X-1", "name": {"zh-CN": "某某事项"}, "aliases": ["办护照"], "department": "gongan",
            "themes": ["travel", "nope"]}
    assert misfiling_problems(item, DEPARTMENTS, THEMES) == [
        {"field": "themes", "value": "nope", "reason": "unknown_theme"}]
    item["department"] = "ghost"
    assert {"field": "department", "value": "ghost", "reason": "unknown_department"} in \
        misfiling_problems(item, DEPARTMENTS, THEMES)
