"""Catalogue search latency as the catalogue grows (p50/p95 at 1k, 10k and 100k items), and search and
suggest throughput over HTTP as a ratio to a bare Tornado hello-JSON server in the same run.

Run:  make setup && .venv/bin/python bench/bench_search.py
      (part of `make bench`; BENCH_SMOKE=1 for a short run at 1k/2k/5k items; needs `wrk` for the
      throughput part: apt-get install -y wrk, or BENCH_HTTP=0 to skip it)
Knobs (environment): BENCH_SIZES (default "1000,10000,100000"), BENCH_ROUNDS (timed passes over the
query set, default 30), BENCH_SEED (default 7), BENCH_HTTP (1), BENCH_SECONDS (per wrk run, 5),
BENCH_HTTP_ROUNDS (3), BENCH_CONNECTIONS (32).

Throughput: `python -m server` as `make run` starts it (demo catalogue, one process, pinned to one core
and wrk to the other as bench/common.py does), GET /api/v1/services?q= cycling through every query of
tests/data/search_queries.toml (colloquial, typos, pinyin, traditional, English, related answers) and
GET /api/v1/services/suggest?q= cycling through the first one to four characters of each; the
baseline is GET /healthz on the hello-JSON server. Each round measures baseline, search, suggest;
the ratio is the median over rounds of (requests/s) / (the round's baseline requests/s).

In process, no server or database: the engine is `models.search.SearchIndex`, built straight from
item dicts. The synthetic catalogues are made from the demo catalogue's items the way a real
province's catalogue grows: the same services implemented by many regions (each copy gets its
own region code, a generated place name in its name, a qualifier such as （个人）/（延续）, a
shuffled subset of the aliases), so both the number of items per term and the vocabulary grow.

Each query is timed as the API answers it (`SearchIndex.find`, its answer cache off: a query never
seen before). The query set mixes the colloquial, traditional, pinyin and English queries of tests/test_search.py,
multi-word questions, and filtered queries (department, theme, audience, region). Sizes are timed
interleaved, round by round, so the shared machine's noise falls on all sizes alike; one sample is
the median of 3 back-to-back runs of the query, so a single preemption does not pass for a slow
query (the p95 is then the slow *queries*, not the scheduler's hiccups). It prints
p50/p95 per size, the build time, and the growth ratio from the smallest to the largest size
(the target is ≤ 1.5×: a query concept reads at most `candidate_cap` postings, whatever the size).
"""

from __future__ import annotations

import gc
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import tomllib
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import LOAD_CPU, PINNED, SERVER_CPU, median, running_baseline, running_service, wrk  # noqa: E402

from models import catalogue  # noqa: E402
from models.search import SearchIndex, get_analyzer  # noqa: E402

SMOKE = os.environ.get("BENCH_SMOKE") == "1"
SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "1000,2000,5000" if SMOKE else "1000,10000,100000").split(",")]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3" if SMOKE else "30"))
SEED = int(os.environ.get("BENCH_SEED", "7"))
HTTP = os.environ.get("BENCH_HTTP", "1") == "1"
SECONDS = int(os.environ.get("BENCH_SECONDS", "2" if SMOKE else "5"))
HTTP_ROUNDS = int(os.environ.get("BENCH_HTTP_ROUNDS", "1" if SMOKE else "3"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
TARGET_HTTP_RATIO = 0.7
QUERY_SET = ROOT / "tests" / "data" / "search_queries.toml"
REPEATS = 3  # one sample = the median of 3 back-to-back runs of a query (shared-machine scheduler noise)
TARGET_RATIO = 1.5

QUERIES: list[tuple[str, dict[str, str]]] = [
    ("办护照", {}), ("换驾照", {}), ("上户口", {}), ("暂住证", {}), ("辦護照", {}), ("huzhao", {}), ("hz", {}),
    ("领证", {}), ("准生证", {}), ("社保卡丢了", {}), ("取公积金", {}), ("二手房过户", {}), ("失业金", {}),
    ("开公司", {}), ("违章罚款", {}), ("年检", {}), ("低保", {}), ("教资认定", {}), ("个税退税", {}),
    ("异地就医", {}), ("良民证", {}), ("小学报名", {}), ("房产证", {}), ("身份证丢了", {}), ("公租房", {}),
    ("駕照到期", {}), ("jiashizheng", {}), ("passport", {}), ("marriage registration", {}),
    ("办护照需要什么材料", {}), ("驾照丢了怎么办", {}), ("新生儿上户口要带什么", {}), ("量子纠缠证明", {}),
    ("登记", {}), ("证明", {"department": "gongan"}), ("许可", {"audience": "enterprise"}),
    ("公积金", {"theme": "housing"}), ("低保", {"region": "330122"}), ("营业执照", {"region": "330100"}),
    ("补贴", {"theme": "social_assistance", "audience": "personal"}),
    ("开奶茶店要办什么证", {}), ("交通罚款在哪交", {}), ("孩子出生了要办什么", {}), ("护照丢了怎么补", {}),
    ("退休了办什么", {}), ("社宝卡丢了", {}), ("huzaho", {}), ("补shenfenzheng", {}), ("qqxzv", {}),
]

QUALIFIERS = ["", "", "", "（个人）", "（企业）", "（首次）", "（延续）", "（变更）", "（补办）", "（注销）", "（告知承诺）",
              "（跨省通办）", "（容缺受理）"]
PLACE_CHARS = "东西南北中青云江河湖山林平安宁和泰兴隆昌盛新华阳溪桥川源城塘浦沙石岭田丰永福寿康乐文武德明清"
PLACE_SUFFIX = ["县", "区", "市", "镇", "街道"]


def synthetic_items(demo: list[dict[str, Any]], n: int, seed: int) -> list[dict[str, Any]]:
    """`n` items: demo items re-implemented across generated regions with varied names and aliases."""
    rng = random.Random(seed)
    out = []
    for k in range(n):
        base = demo[k % len(demo)]
        copy_no = k // len(demo)
        place = "".join(rng.choice(PLACE_CHARS) for _ in range(2)) + rng.choice(PLACE_SUFFIX)
        qualifier = rng.choice(QUALIFIERS)
        province = 11 + (copy_no // 99) % 55
        city = 1 + (copy_no // 9) % 11
        county = 1 + copy_no % 9
        aliases = list(base["aliases"])
        rng.shuffle(aliases)
        item = dict(base)  # the guide is shared, as the same service's guide is across regions
        item["code"] = f"{base['code']}-{k:06d}"
        item["name"] = {"zh-CN": f"{base['name']['zh-CN']}{qualifier}（{place}）", "en": base["name"].get("en", "")}
        item["aliases"] = aliases[: rng.randint(1, max(1, len(aliases)))]
        item["region_code"] = base["region_code"] if copy_no == 0 else f"{province:02d}{city:02d}{county:02d}"
        out.append(item)
    return out


def lua_script(directory: str, name: str, paths: list[str]) -> str:
    """A wrk script cycling through `paths`."""
    path = Path(directory) / f"{name}.lua"
    listed = ",\n".join(json.dumps(p) for p in paths)
    path.write_text(f"""local paths = {{
{listed}
}}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
""")
    return str(path)


def throughput() -> dict[str, Any]:
    """Search and suggest requests/s over HTTP beside a hello-JSON server, ratio per round."""
    queries = [q for group in tomllib.loads(QUERY_SET.read_text(encoding="utf-8")).values() for q in group]
    quote = urllib.parse.quote
    paths = {
        "search": [f"/api/v1/services?q={quote(q)}" for q in queries],
        "suggest": [f"/api/v1/services/suggest?q={quote(q[:n])}" for q in queries for n in (1, 2, 3, 4) if len(q) >= n],
    }
    directory = tempfile.mkdtemp(prefix="citygate-bench-search-")
    scripts = {name: lua_script(directory, name, listed) for name, listed in paths.items()}
    env = {"CITYGATE_DEMO_DATA": "true", "CITYGATE_SANDBOX_ENABLED": "true"}
    rounds: list[dict[str, dict[str, float]]] = []
    with running_service(env, cpu=SERVER_CPU) as url, running_baseline(SERVER_CPU) as baseline:
        urllib.request.urlopen(url + paths["search"][0], timeout=300).read()  # noqa: S310 - waits for the index
        for script in scripts.values():  # every query once: the index is built, caches warm
            wrk(url + "/", seconds=2, connections=4, script=script, cpu=LOAD_CPU)
        wrk(baseline + "/healthz", seconds=1, connections=CONNECTIONS, cpu=LOAD_CPU)
        for _ in range(HTTP_ROUNDS):
            figures = {"baseline": wrk(baseline + "/healthz", seconds=SECONDS, connections=CONNECTIONS, cpu=LOAD_CPU)}
            for name, script in scripts.items():
                figures[name] = wrk(url + "/", seconds=SECONDS, connections=CONNECTIONS, script=script, cpu=LOAD_CPU)
            rounds.append(figures)
    out: dict[str, Any] = {"pinned": PINNED, "rounds": HTTP_ROUNDS, "seconds": SECONDS, "connections": CONNECTIONS,
                           "queries": len(paths["search"]), "prefixes": len(paths["suggest"])}
    for name in scripts:
        ratios = [r[name]["rps"] / r["baseline"]["rps"] for r in rounds]
        typical = rounds[ratios.index(sorted(ratios)[len(ratios) // 2])]
        out[name] = {"ratio": round(median(ratios), 3), "round_ratios": [round(x, 3) for x in ratios],
                     "rps": round(typical[name]["rps"]), "baseline_rps": round(typical["baseline"]["rps"]),
                     "p50_ms": typical[name]["p50_ms"], "p99_ms": typical[name]["p99_ms"],
                     "non_2xx": int(sum(r[name]["non_2xx"] for r in rounds))}
    return out


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    demo = catalogue.read_demo()
    taxonomy = {
        "departments": {d["code"]: d["name"] for d in demo["departments"]},
        "themes": {t["code"]: t["name"] for t in demo["themes"]},
        "regions": {r["code"]: r["name"] for r in demo["regions"]},
    }
    started = time.perf_counter()
    get_analyzer()
    print(f"analyzer loaded in {time.perf_counter() - started:.2f} s; sizes {SIZES}, {ROUNDS} rounds, "
          f"{len(QUERIES)} queries", flush=True)

    indexes: dict[int, SearchIndex] = {}
    builds: dict[int, float] = {}
    for size in SIZES:
        items = synthetic_items(demo["items"], size, SEED)
        gc.collect()
        started = time.perf_counter()
        indexes[size] = SearchIndex.build(items, **taxonomy)
        builds[size] = time.perf_counter() - started
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"built {size:>7} items in {builds[size]:6.1f} s ({len(indexes[size]._postings)} terms, "
              f"max RSS {rss:.0f} MB)", flush=True)

    for index in indexes.values():  # warm up every code path once
        for query, filters in QUERIES:
            index.find(query, **filters, use_cache=False)

    samples: dict[int, list[float]] = {size: [] for size in SIZES}
    hits: dict[int, int] = {size: 0 for size in SIZES}
    gc.disable()
    try:
        for round_no in range(ROUNDS):
            order = SIZES if round_no % 2 == 0 else list(reversed(SIZES))
            for size in order:
                index = indexes[size]
                for query, filters in QUERIES:
                    runs = []
                    for _ in range(REPEATS):
                        t0 = time.perf_counter()
                        result = index.find(query, **filters, use_cache=False)
                        runs.append((time.perf_counter() - t0) * 1000)
                    samples[size].append(statistics.median(runs))
                    if round_no == 0:
                        hits[size] += result.match == "exact" and bool(result.total)
            gc.collect()
    finally:
        gc.enable()

    print(f"\n{'items':>8} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8} {'build s':>8} {'exact answers':>18}")
    for size in SIZES:
        s = samples[size]
        print(f"{size:>8} {percentile(s, 0.5):8.3f} {percentile(s, 0.95):8.3f} {statistics.fmean(s):8.3f} "
              f"{builds[size]:8.1f} {hits[size]:>10}/{len(QUERIES)}")
    small, large = SIZES[0], SIZES[-1]
    p50_ratio = percentile(samples[large], 0.5) / percentile(samples[small], 0.5)
    p95_ratio = percentile(samples[large], 0.95) / percentile(samples[small], 0.95)
    verdict = "within" if max(p50_ratio, p95_ratio) <= TARGET_RATIO else "OVER"
    print(f"\ngrowth {small} → {large} items ({large // small}x): p50 {p50_ratio:.2f}x, p95 {p95_ratio:.2f}x "
          f"({verdict} the {TARGET_RATIO}x target)")
    if not HTTP:
        return 0
    indexes.clear()
    gc.collect()
    http = throughput()
    print()
    for name in ("search", "suggest"):
        f = http[name]
        verdict = "meets" if f["ratio"] >= TARGET_HTTP_RATIO else "BELOW"
        print(f"{name:>8} over HTTP: {f['rps']} req/s, {f['ratio']}x hello-JSON ({f['baseline_rps']} req/s; rounds "
              f"{f['round_ratios']}), p50 {f['p50_ms']:.2f} ms, p99 {f['p99_ms']:.2f} ms, non-2xx {f['non_2xx']} "
              f"({verdict} the {TARGET_HTTP_RATIO}x target)")
    print(json.dumps({"bench": "search", "http": http}, ensure_ascii=False))
    return 1 if any(http[name]["non_2xx"] for name in ("search", "suggest")) else 0


if __name__ == "__main__":
    raise SystemExit(main())
