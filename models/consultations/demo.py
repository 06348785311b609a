"""The demo Q&A library (data/demo_qa.toml): answered questions on the demo catalogue's items.

Each `[[qa]]` has a stable `key`, the `service_codes` it belongs to (items of one department), and
its `question` and `answer` in Chinese and English. Loaded at start-up in development after the
demo catalogue (server/registry.py DEMO_MODULES); reloading replaces each entry by its key and keeps
its id, so links and open counts survive a restart. Entries whose items are not published are
skipped (and reported).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from models.consultations import privacy, suggestions
from models.core.context import Context

DEMO_QA_PATH = Path(__file__).resolve().parents[2] / "data" / "demo_qa.toml"


def read_demo_qa(path: Path = DEMO_QA_PATH) -> list[dict[str, Any]]:
    with open(path, "rb") as fh:
        return tomllib.load(fh)["qa"]


async def load_demo(ctx: Context) -> dict[str, Any]:
    """Start-up hook: the demo library, published. Returns {"entries": n, "skipped": [keys]}."""
    now = ctx.clock()
    loaded, skipped = 0, []
    for raw in read_demo_qa():
        items = await ctx.db.services.find({"code": {"$in": raw["service_codes"]}, "status": "published"}).to_list(None)
        if len(items) != len(raw["service_codes"]) or len({i.get("department") for i in items}) != 1:
            skipped.append(raw["key"])
            continue
        question, _ = privacy.scrub_texts(raw["question"])
        answer, _ = privacy.scrub_texts(raw["answer"])
        doc = {"demo_key": raw["key"], "question": question, "answer": answer, "service_codes": raw["service_codes"],
               "department": items[0].get("department", ""), "region_code": items[0].get("region_code", ""),
               "status": "published", "opened": int(raw.get("opened", 0)), "redactions": {},
               "created_at": now, "updated_at": now, "published_at": now, "created_by": "demo", "updated_by": "demo"}
        await ctx.db.qa_library.replace_one({"demo_key": raw["key"]}, doc, upsert=True)
        loaded += 1
    await suggestions.forget(ctx)
    return {"entries": loaded, "skipped": skipped}
