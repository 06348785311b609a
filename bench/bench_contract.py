"""The contract library, chosen by measuring: msgspec against pydantic v2 on CityGate's own shapes.

Run: `.venv/bin/python bench/bench_contract.py` (part of `make bench`; `BENCH_SMOKE=1` for a short run).
In one process, each candidate validates the same request bodies and query strings and checks the same
answers, in interleaved rounds; reported as ratios to `json.loads` of the same bytes (the work every
request does anyway), the median over rounds. What the service does per request is the `msgspec` row:
`jsonbody.parse` then `msgspec.convert` for a body, `msgspec.convert(strict=False)` for a query string.
`msgspec_json` and `pydantic_json` decode and validate the bytes in one step, skipping the
service's hostile-JSON parse (handlers/jsonbody.py), which the service keeps for its limits. Nested
Structs become `Any` in the pydantic models (the fields a body's nested objects hold are not checked
there), so pydantic's rows do somewhat less work than msgspec's. The answer check runs in the test suite only, never in production; it is here for the record.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import msgspec  # noqa: E402
import pydantic  # noqa: E402
from common import SMOKE, median, report  # noqa: E402

from handlers import contract, jsonbody  # noqa: E402
from handlers.applications import ApplicationsQuery, ApplicationView, NewApplication  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3" if SMOKE else "9"))
LOOPS = 300 if SMOKE else 5000

BODY = json.dumps({
    "service_code": "GA-0001", "draft": False, "delivery": {"method": "post", "recipient": "张三",
                                                            "phone": "13800138000", "address": "北京市东城区某街 1 号"},
    "form": {"applicant": {"name": "张三", "id_number": "110101199003074518", "phone": "13800138000"},
             "reason": "到期换证", "destination": "香港"},
    "materials": {"id_card": ["f_0123456789abcdef"], "photo": ["f_fedcba9876543210"]},
}, ensure_ascii=False).encode()
QUERY = {"page": [b"2"], "page_size": [b"50"], "status": [b"submitted,accepted"]}
ANSWER = json.dumps({
    "application_no": "110000-20261129-000001", "service_code": "GA-0001", "service_name": "护照签发",
    "department": "公安局", "status": "submitted", "status_label": "已提交", "version": 1,
    "deadline": {"promised_days": 7, "due_date": "2026-12-08", "paused": False, "days_left": 7, "overdue": False},
    "created_at": "2026-11-29T09:30:00+08:00", "updated_at": "2026-11-29T09:30:00+08:00",
    "submitted_at": "2026-11-29T09:30:00+08:00", "query_code": "ABCD2345", "form": {"applicant": {"name": "张*"}},
    "materials": {}, "delivery": {"method": "pickup"}, "supplement": None, "decision": None, "result": None,
    "payment": None, "allowed_actions": ["withdraw"],
    "timeline": [{"seq": 1, "at": "2026-11-29T09:30:00+08:00", "action": "submit", "action_label": "提交",
                  "status": "submitted", "status_label": "已提交", "actor": "citizen", "note": ""}],
}, ensure_ascii=False).encode()


# The same shapes as pydantic models, generated from the msgspec declarations so both check the same thing.
def pydantic_model(struct: Any, strict: bool) -> type[pydantic.BaseModel]:
    fields = {}
    for field in msgspec.structs.fields(struct):
        default = ... if field.required else (field.default if field.default is not msgspec.NODEFAULT else None)
        annotation = field.type
        if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
            annotation = pydantic_model(annotation, strict)
        fields[field.name] = (Any if _has_struct(annotation) else annotation, default)
    config = pydantic.ConfigDict(strict=strict)
    return pydantic.create_model(struct.__name__, __config__=config, **fields)


def _has_struct(annotation: Any) -> bool:
    args = getattr(annotation, "__args__", ()) or ()
    return any(isinstance(a, type) and issubclass(a, msgspec.Struct) or _has_struct(a) for a in args)


BodyModel = pydantic_model(NewApplication, strict=True)
QueryModel = pydantic_model(ApplicationsQuery, strict=False)
AnswerModel = pydantic_model(ApplicationView, strict=True)
answer_decoder = msgspec.json.Decoder(ApplicationView)
body_decoder = msgspec.json.Decoder(NewApplication)


def query_values() -> dict[str, str]:
    return {name: values[-1].decode() for name, values in QUERY.items()}


CASES = {
    "body": {
        "json.loads": lambda: json.loads(BODY),
        "msgspec": lambda: contract.parse_body(NewApplication, jsonbody.parse(BODY)),
        "pydantic": lambda: BodyModel.model_validate(jsonbody.parse(BODY)),
        "msgspec_json": lambda: body_decoder.decode(BODY),
        "pydantic_json": lambda: BodyModel.model_validate_json(BODY),
    },
    "query": {
        "json.loads": lambda: json.loads(b'{"page": "2", "page_size": "50", "status": "submitted,accepted"}'),
        "msgspec": lambda: contract.parse_query(ApplicationsQuery, QUERY),
        "pydantic": lambda: QueryModel.model_validate(query_values()),
    },
    "answer": {
        "json.loads": lambda: json.loads(ANSWER),
        "msgspec": lambda: answer_decoder.decode(ANSWER),
        "pydantic_json": lambda: AnswerModel.model_validate_json(ANSWER),
    },
}


def per_call(function: Any) -> float:
    start = time.perf_counter()
    for _ in range(LOOPS):
        function()
    return (time.perf_counter() - start) / LOOPS


def main() -> None:
    figures: dict[str, Any] = {"rounds": ROUNDS, "loops": LOOPS}
    for shape, candidates in CASES.items():
        for function in candidates.values():
            function()  # each answers without error before it is timed
        ratios: dict[str, list[float]] = {name: [] for name in candidates if name != "json.loads"}
        microseconds: dict[str, list[float]] = {name: [] for name in candidates}
        for _ in range(ROUNDS):
            times = {name: per_call(function) for name, function in candidates.items()}
            for name, seconds in times.items():
                microseconds[name].append(seconds * 1e6)
                if name != "json.loads":
                    ratios[name].append(seconds / times["json.loads"])
        figures[shape] = {
            "ratio_to_json_loads": {name: round(median(values), 2) for name, values in ratios.items()},
            "median_us": {name: round(median(values), 2) for name, values in microseconds.items()},
        }
    figures["pydantic_over_msgspec"] = {
        "body": round(figures["body"]["median_us"]["pydantic"] / figures["body"]["median_us"]["msgspec"], 2),
        "body_json": round(figures["body"]["median_us"]["pydantic_json"] / figures["body"]["median_us"]["msgspec_json"], 2),
        "query": round(figures["query"]["median_us"]["pydantic"] / figures["query"]["median_us"]["msgspec"], 2),
        "answer": round(figures["answer"]["median_us"]["pydantic_json"] / figures["answer"]["median_us"]["msgspec"], 2)}
    report("contract", figures)


if __name__ == "__main__":
    main()
