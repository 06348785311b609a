"""Every MongoDB behaviour CityGate relies on, checked against whatever CITYGATE_MONGODB_URL names.

Run against the embedded nx-27017 in CI and against a real MongoDB replica set with
`CITYGATE_MONGODB_URL=mongodb://... make test PYTEST_ARGS=tests/test_datastore_conformance.py`, so the
same file proves both. Known divergences of nx-27017 that the code avoids are pinned at the bottom:
if the embedded server fixes them, those tests tell us.
"""

from __future__ import annotations

import asyncio
import datetime
import io
import uuid

import pytest
from bson import ObjectId
from gridfs import AsyncGridFSBucket
from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.errors import DuplicateKeyError

UTC = datetime.UTC


@pytest.fixture
async def db(backing_urls):
    client = AsyncMongoClient(backing_urls[0], tz_aware=True, serverSelectionTimeoutMS=3000)
    name = f"conf_{uuid.uuid4().hex[:10]}"
    try:
        yield client[name]
    finally:
        await client.drop_database(name)
        await client.close()


@pytest.fixture
def embedded(backing_urls) -> bool:
    return "CITYGATE_MONGODB_URL" not in __import__("os").environ


async def test_unique_index_raises_duplicate_key(db) -> None:
    await db.items.create_index("code", unique=True)
    await db.items.insert_one({"code": "GA-1"})
    with pytest.raises(DuplicateKeyError):
        await db.items.insert_one({"code": "GA-1"})
    assert await db.items.count_documents({}) == 1


async def test_compound_unique_index(db) -> None:
    await db.bookings.create_index([("citizen_id", 1), ("service_code", 1), ("date", 1)], unique=True)
    await db.bookings.insert_one({"citizen_id": "c1", "service_code": "s", "date": "2026-12-01"})
    await db.bookings.insert_one({"citizen_id": "c1", "service_code": "s", "date": "2026-12-02"})
    with pytest.raises(DuplicateKeyError):
        await db.bookings.insert_one({"citizen_id": "c1", "service_code": "s", "date": "2026-12-01"})


async def test_create_index_is_idempotent(db) -> None:
    first = await db.items.create_index("code", unique=True)
    second = await db.items.create_index("code", unique=True)
    assert first == second
    assert any(info.get("unique") for info in (await db.items.index_information()).values())


async def test_find_one_and_update_upsert_counter_under_50_concurrent_callers(db) -> None:
    async def next_number() -> int:
        doc = await db.counters.find_one_and_update({"_id": "seq:330100:20261123"}, {"$inc": {"value": 1}},
                                                    upsert=True, return_document=ReturnDocument.AFTER)
        return doc["value"]

    numbers = await asyncio.gather(*(next_number() for _ in range(50)))
    assert sorted(numbers) == list(range(1, 51))


async def test_conditional_update_has_exactly_one_winner(db) -> None:
    await db.apps.insert_one({"_id": "A1", "status": "submitted", "version": 1})

    async def accept():
        return await db.apps.find_one_and_update({"_id": "A1", "status": "submitted", "version": 1},
                                                 {"$set": {"status": "accepted"}, "$inc": {"version": 1}})

    results = await asyncio.gather(*(accept() for _ in range(20)))
    assert sum(r is not None for r in results) == 1
    assert await db.apps.find_one({"_id": "A1"}) == {"_id": "A1", "status": "accepted", "version": 2}


async def test_guarded_decrement_never_goes_below_zero(db) -> None:
    await db.slots.insert_one({"_id": "slot", "remaining": 30})

    async def take():
        return await db.slots.find_one_and_update({"_id": "slot", "remaining": {"$gt": 0}}, {"$inc": {"remaining": -1}})

    results = await asyncio.gather(*(take() for _ in range(100)))
    assert sum(r is not None for r in results) == 30
    assert (await db.slots.find_one({"_id": "slot"}))["remaining"] == 0


async def test_upsert_with_set_on_insert(db) -> None:
    for _ in range(2):
        await db.misses.update_one({"_id": "办暂住"}, {"$inc": {"count": 1}, "$setOnInsert": {"first": "x"}}, upsert=True)
    assert await db.misses.find_one({"_id": "办暂住"}) == {"_id": "办暂住", "count": 2, "first": "x"}


async def test_query_operators_sort_skip_limit_projection(db) -> None:
    base = datetime.datetime(2026, 11, 1, tzinfo=UTC)
    await db.events.insert_many([
        {"n": i, "kind": "a" if i % 2 else "b", "at": base + datetime.timedelta(days=i), "tags": [f"t{i % 3}"],
         "sub": {"dept": "gongan" if i < 5 else "shebao"}}
        for i in range(10)
    ])
    assert await db.events.count_documents({"kind": {"$in": ["a"]}}) == 5
    cursor = db.events.find({"at": {"$gte": base + datetime.timedelta(days=3), "$lt": base + datetime.timedelta(days=8)}},
                            {"_id": 0, "n": 1}).sort("n", -1).skip(1).limit(2)
    assert await cursor.to_list() == [{"n": 6}, {"n": 5}]
    assert await db.events.count_documents({"$or": [{"n": 0}, {"sub.dept": "shebao"}]}) == 6
    assert await db.events.count_documents({"tags": "t1"}) == 3
    assert await db.events.count_documents({"sub.dept": {"$regex": "^gong"}}) == 5
    assert await db.events.count_documents({"missing": {"$exists": False}}) == 10
    one = await db.events.find_one({"n": 4})
    assert one["at"] == base + datetime.timedelta(days=4) and one["at"].tzinfo is not None


async def test_update_operators_on_fields_and_string_arrays(db) -> None:
    await db.docs.insert_one({"_id": 1, "tags": ["a"], "guide": {"fee": {"free": True}}, "tmp": 1})
    await db.docs.update_one({"_id": 1}, {"$set": {"guide.fee.free": False, "guide.fee.amount_fen": 2000},
                                          "$unset": {"tmp": ""}, "$addToSet": {"tags": "b"}})
    await db.docs.update_one({"_id": 1}, {"$addToSet": {"tags": "b"}})
    await db.docs.update_one({"_id": 1}, {"$pull": {"tags": "a"}})
    assert await db.docs.find_one({"_id": 1}) == {"_id": 1, "tags": ["b"], "guide": {"fee": {"free": False, "amount_fen": 2000}}}


async def test_whole_array_of_documents_round_trips_with_set(db) -> None:
    windows = [{"no": 1, "services": ["GA-1"]}, {"no": 2, "services": ["GA-2", "GA-3"]}]
    await db.halls.insert_one({"_id": "h1", "windows": windows[:1]})
    await db.halls.update_one({"_id": "h1"}, {"$set": {"windows": windows}})
    assert (await db.halls.find_one({"_id": "h1"}))["windows"] == windows


async def test_aggregation_stages_used(db) -> None:
    await db.ratings.insert_many([{"dept": d, "grade": g} for d, g in
                                  [("gongan", 5), ("gongan", 4), ("shebao", 2), ("shebao", 1), ("shebao", 5)]])
    cursor = await db.ratings.aggregate([
        {"$match": {"grade": {"$gte": 1}}},
        {"$group": {"_id": "$dept", "count": {"$sum": 1}, "avg": {"$avg": "$grade"}}},
        {"$sort": {"_id": 1}},
        {"$project": {"count": 1, "avg": 1}},
        {"$limit": 10},
    ])
    assert await cursor.to_list() == [{"_id": "gongan", "count": 2, "avg": 4.5},
                                      {"_id": "shebao", "count": 3, "avg": pytest.approx(8 / 3)}]
    counted = await (await db.ratings.aggregate([{"$match": {"dept": "shebao"}}, {"$count": "n"}])).to_list()
    assert counted == [{"n": 3}]


async def test_ttl_index_is_accepted(db) -> None:
    await db.idem.create_index("expires_at", expireAfterSeconds=0)
    info = await db.idem.index_information()
    assert any(spec.get("expireAfterSeconds") == 0 for spec in info.values())


async def test_session_transaction_commits_together(db) -> None:
    client = db.client
    await db.apps.insert_one({"_id": "A", "status": "submitted"})
    async with client.start_session() as session:
        async with await session.start_transaction():
            await db.apps.update_one({"_id": "A"}, {"$set": {"status": "accepted"}}, session=session)
            await db.outbox.insert_one({"_id": "application:A:2"}, session=session)
    assert (await db.apps.find_one({"_id": "A"}))["status"] == "accepted"
    assert await db.outbox.count_documents({"_id": "application:A:2"}) == 1


async def test_session_transaction_aborts_together(db) -> None:
    client = db.client
    await db.apps.insert_one({"_id": "B", "status": "submitted"})
    await db.outbox.insert_one({"_id": "existing"})
    with pytest.raises(RuntimeError):
        async with client.start_session() as session:
            async with await session.start_transaction():
                await db.apps.update_one({"_id": "B"}, {"$set": {"status": "accepted"}}, session=session)
                await db.outbox.insert_one({"_id": "application:B:2"}, session=session)
                raise RuntimeError("crash before commit")
    assert (await db.apps.find_one({"_id": "B"}))["status"] == "submitted"
    assert await db.outbox.count_documents({"_id": "application:B:2"}) == 0


async def test_gridfs_round_trip(db) -> None:
    bucket = AsyncGridFSBucket(db, bucket_name="materials")
    payload = b"%PDF-1.7\n" + bytes(range(256)) * 2000
    file_id = await bucket.upload_from_stream("scan.pdf", io.BytesIO(payload), metadata={"owner": "c1"})
    out = io.BytesIO()
    await bucket.download_to_stream(file_id, out)
    assert out.getvalue() == payload
    stored = await db["materials.files"].find_one({"_id": file_id})
    assert stored["length"] == len(payload) and stored["metadata"] == {"owner": "c1"}


# ---- divergences of the embedded server that the code works around -------------------------------

@pytest.mark.divergence
async def test_divergence_push_of_subdocument(db, embedded) -> None:
    """nx-27017 0.8.1 stores a $push-ed sub-document as a JSON string; the code never $pushes documents."""
    await db.apps.insert_one({"_id": "P", "events": []})
    await db.apps.update_one({"_id": "P"}, {"$push": {"events": {"at": 1}}})
    events = (await db.apps.find_one({"_id": "P"}))["events"]
    if embedded:
        assert events != [{"at": 1}], "nx-27017 now handles $push of documents: the workaround can go"
    else:
        assert events == [{"at": 1}]


@pytest.mark.divergence
async def test_divergence_unique_index_over_array_elements(db, embedded) -> None:
    """nx-27017 does not enforce a unique index per array element; identities live one per document."""
    await db.citizens.create_index("identity_keys", unique=True)
    await db.citizens.insert_one({"identity_keys": ["wx:app1:o1", "wxu:u1"]})
    if embedded:
        await db.citizens.insert_one({"identity_keys": ["wx:app2:o2", "wxu:u1"]})
        assert len(await db.citizens.find({}).to_list()) == 2, "now enforced: simplify"
    else:
        with pytest.raises(DuplicateKeyError):
            await db.citizens.insert_one({"identity_keys": ["wx:app2:o2", "wxu:u1"]})


@pytest.mark.divergence
async def test_divergence_partial_unique_index(db, embedded) -> None:
    """nx-27017 ignores partialFilterExpression, so a partial unique index is unique for every document."""
    await db.bookings.create_index([("citizen_id", 1), ("day", 1)], unique=True,
                                   partialFilterExpression={"status": "booked"})
    await db.bookings.insert_one({"citizen_id": "c", "day": "d", "status": "cancelled"})
    if embedded:
        with pytest.raises(DuplicateKeyError):
            await db.bookings.insert_one({"citizen_id": "c", "day": "d", "status": "cancelled"})
    else:
        await db.bookings.insert_one({"citizen_id": "c", "day": "d", "status": "cancelled"})
        await db.bookings.insert_one({"citizen_id": "c", "day": "d", "status": "booked"})
        with pytest.raises(DuplicateKeyError):
            await db.bookings.insert_one({"citizen_id": "c", "day": "d", "status": "booked"})


async def test_set_of_a_date_on_an_existing_document_stays_a_date(db) -> None:
    now = datetime.datetime(2026, 11, 23, 2, 0, 5, 123000, tzinfo=UTC)
    await db.outbox.insert_one({"_id": 1, "created_at": now})
    await db.outbox.update_one({"_id": 1}, {"$set": {"next_attempt_at": now, "lease.until": now}})
    await db.outbox.update_one({"_id": 1}, {"$set": {"next_attempt_at": now + datetime.timedelta(seconds=5)}})
    doc = await db.outbox.find_one_and_update({"_id": 1}, {"$set": {"finished_at": now}}, return_document=ReturnDocument.AFTER)
    assert doc["next_attempt_at"] == now + datetime.timedelta(seconds=5)
    assert doc["finished_at"] == now and doc["lease"]["until"] == now
    assert await db.outbox.count_documents({"next_attempt_at": {"$lte": now + datetime.timedelta(seconds=5)}}) == 1
    assert await db.outbox.count_documents({"next_attempt_at": {"$lt": now}}) == 0


async def test_set_of_a_boolean_stays_a_boolean(db) -> None:
    await db.channels.insert_one({"_id": "wx", "enabled": True})
    await db.channels.update_one({"_id": "wx"}, {"$set": {"enabled": False, "sandbox": True}})
    doc = await db.channels.find_one({"_id": "wx"})
    assert doc["enabled"] is False and doc["sandbox"] is True
    assert await db.channels.count_documents({"enabled": False}) == 1


@pytest.mark.divergence
async def test_divergence_object_id_outside_id_field(db, embedded) -> None:
    """nx-27017 does not match an ObjectId value in a field other than _id; such ids are stored as strings."""
    from bson import ObjectId

    owner = ObjectId()
    await db.files.insert_one({"owner_id": owner})
    found = await db.files.count_documents({"owner_id": owner})
    assert found == (0 if embedded else 1)



@pytest.mark.divergence
async def test_divergence_indexed_array_field_membership_query(db, embedded) -> None:
    """nx-27017 matches nothing by array membership once the array field is indexed; halls.service_codes
    has no index (models/appointments/indexes.py)."""
    await db.halls.create_index("service_codes")
    await db.halls.insert_one({"_id": "h", "service_codes": ["GA-1", "GA-2"], "active": True})
    await db.halls.update_one({"_id": "h"}, {"$set": {"active": True}})
    found = len(await db.halls.find({"service_codes": "GA-2", "active": True}).to_list())
    assert found == (0 if embedded else 1)



# ---- every filter and update shape the code sends, against MongoDB's rules ------------------------
# tests/datastore_shapes.py reduces each command the code sends to its shape and fails the suite when
# no test here sends the same shape. Each case below mirrors one shape the code sends (field names
# do not matter, only depth, operators and value types) and is run through every command that takes
# a filter, so a divergence in one code path of the server (updates, counts) cannot hide behind
# another (find). Expected answers come from tests/mongo_reference.py, MongoDB's rules in Python.

D1 = datetime.datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
D2 = datetime.datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
D3 = datetime.datetime(2026, 11, 20, 2, 0, tzinfo=UTC)

POOL = [
    {"_id": "p1", "s": "pending", "t": "a", "n": 1, "b": True, "d": D1, "ds": "2026-10-20",
     "sub": {"x": "gongan", "y": True, "z": "k"}, "tags": ["GA-1", "GA-2"], "refunded": 0, "total": 2000,
     "deep": {"a": {"b": "k"}}},
    {"_id": "p2", "s": "pending", "t": "b", "n": 2, "b": False, "d": D2, "ds": "2026-11-01", "z": None,
     "sub": {"x": "shebao", "y": False}, "tags": ["GA-2"], "refunded": 1500, "total": 2000},
    {"_id": "p3", "s": "paid", "t": "a", "n": 3, "b": True, "d": D3, "ds": "2026-11-15", "z": "dup",
     "sub": {"x": "gongan", "z": None}, "tags": [], "refunded": 2000, "total": 2000},
    {"_id": "p4", "s": "draft", "t": "c", "n": 0, "b": False, "d": None, "z": None, "sub": {},
     "deep": {"a": {"b": "m"}}, "refunded": 0, "total": 100},
    {"_id": "p5", "s": "paid", "t": "b", "n": 5, "d": D1, "ds": "2026-11-05", "z": "x", "tags": ["GA-3"],
     "refunded": 100, "total": 300},
]
OIDS = {doc["_id"]: ObjectId(f"6b0c1409{index:016x}") for index, doc in enumerate(POOL)}
NAMES = {oid: name for name, oid in OIDS.items()}


def O(name: str) -> ObjectId:  # noqa: E743 - reads like a literal in the cases
    return OIDS[name]


FILTERS = [
    {},
    {"s": "pending"},
    {"b": True}, {"b": False},
    {"_id": "p3"},
    {"_id": "p1", "s": "pending"}, {"_id": "p3", "s": "pending"},
    {"_id": O("p1"), "s": "pending"}, {"_id": O("p3"), "s": "pending"},
    {"_id": O("p2")},
    {"s": "pending", "d": {"$lt": D2}},
    {"t": "c", "z": None}, {"s": "pending", "z": None},
    {"_id": "p2", "z": None}, {"_id": "p1", "z": None}, {"_id": "p3", "z": None},
    {"t": {"$regex": "^[ab]"}},
    {"d": {"$lte": D2}}, {"d": {"$lt": D2}}, {"d": {"$gte": D2}},
    {"s": {"$in": ["paid", "draft"]}},
    {"d": {"$gte": D1}, "z": {"$ne": None}},
    {"d": {"$gte": D1}, "s": {"$in": ["pending", "paid"]}},
    {"t": "a", "s": {"$ne": "paid"}},
    {"s": "paid", "d": {"$lte": D2}},
    {"t": "a", "s": {"$in": []}},
    {"t": "b", "s": {"$in": ["paid"]}},
    {"t": "a", "ds": {"$gte": "2026-11-01"}},
    {"t": "b", "ds": {"$gte": "2026-11-01", "$lte": "2026-11-10"}},
    {"s": "paid", "d": {"$gte": D1}, "z": {"$ne": None}},
    {"t": "a", "d": {"$gte": D1}, "s": {"$in": ["pending", "paid"]}},
    {"s": "pending", "d": {"$gte": D2}},
    {"s": "paid", "n": {"$gt": 3}},
    {"t": "b", "z": {"$exists": True}, "s": {"$ne": "draft"}},
    {"d": D1, "s": "paid"},
    {"b": True, "s": "pending"},
    {"_id": {"$in": ["p1", "p4", "zz"]}},
    {"_id": {"$in": ["p1", "p2", "p3"]}, "z": None},
    {"_id": {"$in": [O("p1"), O("p5")]}},
    {"_id": "p1", "sub.x": "gongan"}, {"_id": "p2", "sub.x": "gongan"},
    {"_id": "p2", "s": {"$in": ["pending"]}},
    {"_id": "p2", "d": {"$gt": D1}}, {"_id": "p5", "d": {"$gt": D1}},
    {"_id": "p3", "s": "paid", "n": {"$gte": 3}},
    {"_id": "p2", "z": None, "d": {"$gt": D1}}, {"_id": "p3", "z": None, "d": {"$gt": D1}},
    {"_id": "p2", "z": None, "s": "pending", "d": {"$gt": D1}},
    {"_id": "p3", "n": 3}, {"_id": "p3", "n": 2},
    {"_id": "p5", "d": D1}, {"_id": "p2", "d": D1},
    {"_id": "p1", "b": True, "s": "pending"}, {"_id": "p2", "b": True, "s": "pending"},
    {"_id": "p2", "b": True}, {"_id": "p1", "b": True},
    {"_id": O("p1"), "deep.a.b": "k"}, {"_id": O("p4"), "deep.a.b": "k"},
    {"_id": "p1", "deep.a.b": "k"}, {"_id": "p4", "deep.a.b": "k"},  # a channel's rotated-out secret (re-encryption guard)
    {"_id": O("p1"), "sub.x": "gongan"}, {"_id": O("p2"), "sub.x": "gongan"},
    {"_id": O("p2"), "s": {"$in": ["pending", "paid"]}},
    {"_id": O("p2"), "z": {"$exists": False}}, {"_id": O("p1"), "z": {"$exists": False}},
    {"_id": O("p1"), "s": "pending", "d": {"$lt": D2}}, {"_id": O("p2"), "s": "pending", "d": {"$lt": D2}},
    {"_id": O("p3"), "s": "paid", "d": {"$gt": D2}}, {"_id": O("p5"), "s": "paid", "d": {"$gt": D2}},
    {"_id": O("p3"), "n": 3, "t": "a"}, {"_id": O("p3"), "n": 3, "t": "b"},
    {"_id": O("p3"), "n": 3}, {"_id": O("p3"), "n": 2},
    {"_id": O("p3"), "n": {"$lt": 4}}, {"_id": O("p3"), "n": {"$lt": 3}}, {"_id": O("p4"), "n": {"$lt": 1}},
    # An $or (or $and) beside other conditions: its branches must not match other documents.
    {"_id": "p3", "$or": [{"sub.z": {"$exists": False}}, {"sub.z": {"$ne": "k"}}]},
    {"_id": "p1", "$or": [{"sub.z": {"$exists": False}}, {"sub.z": {"$ne": "k"}}]},
    {"_id": "p2", "s": "pending", "$or": [{"z": {"$exists": False}}, {"d": {"$lte": D1}}]},
    {"_id": "p1", "s": "pending", "$or": [{"z": {"$exists": False}}, {"d": {"$lte": D1}}]},
    {"$or": [{"s": "draft"}]},
    {"$or": [{"s": "pending", "d": {"$lt": D2}}, {"s": {"$in": ["paid"]}, "d": {"$lte": D1}}]},
    {"_id": "p2", "$or": [{"z": None}, {"z": {"$exists": False}}]},
    {"_id": "p3", "$or": [{"z": None}, {"z": {"$exists": False}}]},
    {"_id": "p2", "refunded": {"$lte": 1500}}, {"_id": "p2", "refunded": {"$lte": 1499}},
    {"_id": {"$regex": "^p[12]"}},
    {"t": "a", "ds": {"$gte": "2026-11-01"}, "s": {"$in": ["paid", "pending"]}},
    {"s": "pending", "sub.x": "gongan"}, {"sub.x": "gongan"},
    {"d": {"$gte": D1, "$lt": D3}},
    # Operators' scope: a department and a region-code prefix, beside the list's own conditions.
    {"s": "pending", "t": {"$ne": "a"}, "ds": {"$regex": "^2026-11"}},
    {"s": "paid", "ds": {"$regex": "^2026-11"}}, {"s": {"$ne": "draft"}},
    {"$and": [{"s": {"$ne": "draft"}, "t": "a"},
              {"$or": [{"s": {"$in": ["pending"]}, "sub.x": {"$lt": "h"}}, {"sub.y": True}]}]},
    {"$and": [{"s": {"$ne": "draft"}, "t": "a"},
              {"$nor": [{"s": {"$in": ["pending"]}, "sub.x": {"$lt": "h"}}, {"sub.y": True}]}]},
    # The same overdue filter for an operator whose scope is the whole platform (no department).
    {"$and": [{"s": {"$ne": "draft"}}, {"$or": [{"s": {"$in": ["pending"]}, "sub.x": {"$lt": "h"}}, {"sub.y": True}]}]},
    {"$and": [{"s": {"$ne": "draft"}}, {"$nor": [{"s": {"$in": ["pending"]}, "sub.x": {"$lt": "h"}}, {"sub.y": True}]}]},
    # ... and for a region's operator (the region and every region under it), with or without a department.
    {"$and": [{"s": {"$ne": "draft"}, "ds": {"$regex": "^2026-1"}},
              {"$or": [{"s": {"$in": ["pending"]}, "sub.x": {"$lt": "h"}}, {"sub.y": True}]}]},
    {"$and": [{"s": {"$ne": "draft"}, "ds": {"$regex": "^2026-1"}},
              {"$nor": [{"s": {"$in": ["pending"]}, "sub.x": {"$lt": "h"}}, {"sub.y": True}]}]},
    {"$and": [{"s": {"$ne": "draft"}, "t": "a", "ds": {"$regex": "^2026-1"}},
              {"$or": [{"s": {"$in": ["pending"]}, "sub.x": {"$lt": "h"}}, {"sub.y": True}]}]},
    {"$and": [{"s": {"$ne": "draft"}, "t": "a", "ds": {"$regex": "^2026-1"}},
              {"$nor": [{"s": {"$in": ["pending"]}, "sub.x": {"$lt": "h"}}, {"sub.y": True}]}]},
    # An Idempotency-Key taken over after an unknown outcome (models.idempotency._replay): the record as
    # it was read, its state and when it was claimed.
    {"_id": "p1", "s": "pending", "d": D1}, {"_id": "p2", "s": "pending", "d": D1},
    # A citizen withdraws a licence consent: their application, while still in one of a few states.
    {"_id": "p2", "t": "b", "s": {"$in": ["pending", "draft"]}}, {"_id": "p2", "t": "a", "s": {"$in": ["pending"]}},
    {"_id": "p3", "t": "a", "s": {"$in": ["pending", "draft"]}},
    # Consent receipts of one application still given; licences of a type within a department.
    {"s": "pending", "t": "b"}, {"t": "a", "sub.x": "gongan"}, {"s": "pending", "t": "a", "ds": {"$regex": "^2026-1"}},
    # A face verification used up (models.face.consume): its id, owner, purpose, person and state, verified
    # recently enough; and the sandbox's face check performed on a live session not yet performed.
    {"_id": "p1", "s": "pending", "t": "a", "d": {"$gte": D1}}, {"_id": "p2", "s": "pending", "t": "b", "d": {"$gte": D3}},
    {"_id": "p3", "s": "pending", "t": "a", "d": {"$gte": D1}},
    {"z": None, "t": "b", "d": {"$gt": D1}}, {"z": None, "s": "draft", "d": {"$gt": D1}},
    # ... and given back when the submission it was taken for failed (models.face.for_submission).
    {"_id": "p1", "s": "pending", "t": "a"}, {"_id": "p2", "s": "pending", "t": "a"},
]

# Searches of the audit log (models.audit.query) and other scoped lists: any combination of an `$or`
# of two equalities (operator id or username), an equality or array membership (object, action,
# department), a time range, and a region-prefix `$regex` (OperatorScope.filter).
FILTERS += [query for query in (
    {**({"$or": [{"t": "b"}, {"s": "paid"}]} if with_or else {}), **({"tags": "GA-2"} if with_member else {}),
     **({"d": time} if time else {}), **({"ds": {"$regex": "^2026-11"}} if with_prefix else {})}
    for with_or in (False, True) for with_member in (False, True) for with_prefix in (False, True)
    for time in (None, {"$gte": D2}, {"$lt": D2}, {"$gte": D1, "$lt": D3})) if query and query not in FILTERS]
FILTERS += [{"t": "a", "tags": "GA-2", "d": {"$gte": D1}, "ds": {"$regex": "^2026-1"}}]
# Deflection (models.consultations.deflection.mark_asked): a citizen's opens of an item not yet asked
# within the window, and one open by its token; a boolean and a date bound beside them.
FILTERS += [
    {"s": "pending", "t": "b", "b": False, "d": {"$gte": D1}}, {"s": "pending", "t": "a", "b": False, "d": {"$gte": D1}},
    {"t": "c", "s": "draft", "b": False, "d": {"$gte": D1}},
    {"_id": O("p2"), "b": False, "d": {"$gte": D1}}, {"_id": O("p1"), "b": False, "d": {"$gte": D1}},
    {"_id": O("p2"), "b": False, "d": {"$gte": D3}}, {"_id": O("p4"), "b": False, "d": {"$gte": D1}},
]


def _pool_for(query: dict) -> list[dict]:
    """The pool with string ids, or with ObjectId ids when the case names documents by ObjectId."""
    if "ObjectId(" in repr(query):
        return [{**doc, "_id": OIDS[doc["_id"]]} for doc in POOL]
    return [dict(doc) for doc in POOL]


def _name(doc_id: object) -> str:
    return NAMES.get(doc_id, doc_id)


async def _reseed(coll, docs: list[dict]) -> None:
    await coll.delete_many({})
    await coll.insert_many([dict(doc) for doc in docs])


@pytest.mark.parametrize("query", FILTERS, ids=[repr(f)[:70] for f in FILTERS])
async def test_filter_matches_the_same_documents_in_every_command(db, query) -> None:
    from tests import mongo_reference as ref

    docs = _pool_for(query)
    expected = {_name(doc["_id"]) for doc in docs if ref.matches(doc, query)}
    coll = db.pool
    await _reseed(coll, docs)

    assert {_name(doc["_id"]) async for doc in coll.find(query)} == expected, "find"
    assert await coll.count_documents(query) == len(expected), "count_documents"
    assert await coll.count_documents(query, limit=2) == min(2, len(expected)), "count_documents with a limit"
    assert set(await coll.distinct("t", query)) == {doc.get("t") for doc in docs if _name(doc["_id"]) in expected}, "distinct"

    await coll.update_many(query, {"$set": {"hit": True}})
    assert {_name(doc["_id"]) async for doc in coll.find({"hit": True})} == expected, "update_many"

    for single in ("update_one", "find_one_and_update", "delete_one", "find_one_and_delete"):
        await _reseed(coll, docs)
        if single.startswith("delete") or single.endswith("delete"):
            await getattr(coll, single)(query)
            touched = {_name(doc["_id"]) for doc in docs} - {_name(doc["_id"]) async for doc in coll.find({})}
        else:
            await getattr(coll, single)(query, {"$set": {"hit": True}})
            touched = {_name(doc["_id"]) async for doc in coll.find({"hit": True})}
        assert len(touched) == min(1, len(expected)) and touched <= expected, f"{single} touched {touched}, not one of {expected}"

    await _reseed(coll, docs)
    await coll.delete_many(query)
    assert {_name(doc["_id"]) for doc in docs} - {_name(doc["_id"]) async for doc in coll.find({})} == expected, "delete_many"


BASE_DOC = {"_id": "u1", "s": "pending", "n": 1, "b": True, "d": D1, "z": "x", "tags": ["a"],
            "sub": {"x": "gongan", "n": 2, "d": D2, "b": False}, "deep": {"a": {"b": "k"}}}

# Each update sets, increments, unsets or adds fields of every depth and value type the code writes.
UPDATES = [
    {"$set": {"s": "paid", "n": 7, "fl": 0.5, "b": False, "z": None, "d": D3, "sub": {"x": "y", "d": D1},
              "tags": ["a", "b"], "docs": [{"k": 1, "at": D2}], "empty": []}},
    {"$set": {"sub.x": "v", "sub.b": True, "sub.n": 3, "sub.fl": 0.0, "sub.d": D3, "sub.z": None,
              "sub.doc": {"a": 1}, "sub.list": ["x"], "sub.docs": [{"a": 1}], "sub.empty": []}},
    {"$set": {"deep.a.b": "q", "deep.a.c": {"k": "v", "at": D1}, "deep.a.d": D2, "deep.a.n": None}},
    {"$inc": {"n": 1, "sub.n": -2}, "$set": {"s": "x"}},
    {"$unset": {"z": "", "sub.x": ""}},
    {"$addToSet": {"tags": {"$each": ["b", "a", "c"]}}, "$set": {"d": D2}},
    {"$addToSet": {"tags": "z"}},
]
UPSERTS = [
    {"$set": {"s": "new", "d": D1, "sub": {"x": "y"}},
     "$setOnInsert": {"created": D1, "profile": {}, "keys": [], "phone": None, "status": "active", "on": True,
                      "count": 0, "names": ["a"], "windows": [{"number": "1", "codes": ["GA-1"]}]},
     "$inc": {"n": 1}},
    {"$set": {"vendor": "wechat", "when": D2}, "$setOnInsert": {"first": D2}},
]


@pytest.mark.parametrize("update", UPDATES, ids=[repr(u)[:60] for u in UPDATES])
async def test_update_writes_what_mongodb_writes(db, update) -> None:
    from tests import mongo_reference as ref

    expected = ref.apply_update(BASE_DOC, update)
    for command in ("update_one", "update_many", "find_one_and_update", "update_one upsert", "find_one_and_update upsert"):
        await db.docs.delete_many({})
        await db.docs.insert_one(dict(BASE_DOC))
        await db.docs.insert_one({**BASE_DOC, "_id": "bystander"})
        name, _, upsert = command.partition(" ")
        kwargs = {"upsert": True} if upsert else {}
        await getattr(db.docs, name)({"_id": "u1"}, update, **kwargs)
        assert await db.docs.find_one({"_id": "u1"}) == expected, command
        assert await db.docs.find_one({"_id": "bystander"}) == {**BASE_DOC, "_id": "bystander"}, command


@pytest.mark.parametrize("update", UPSERTS, ids=[repr(u)[:60] for u in UPSERTS])
async def test_upsert_inserts_and_updates_as_mongodb_does(db, update) -> None:
    from tests import mongo_reference as ref

    for command in ("update_one", "find_one_and_update"):
        await db.docs.delete_many({})
        await getattr(db.docs, command)({"_id": "fresh"}, update, upsert=True)
        assert await db.docs.find_one({"_id": "fresh"}) == ref.apply_update({"_id": "fresh"}, update, inserting=True), command
        await getattr(db.docs, command)({"_id": "fresh"}, update, upsert=True)
        again = ref.apply_update(ref.apply_update({"_id": "fresh"}, update, inserting=True), update)
        assert await db.docs.find_one({"_id": "fresh"}) == again, command
    # A whole document replaced, or inserted when missing.
    await db.docs.delete_many({})
    for round_ in (1, 2):
        await db.docs.replace_one({"code": "whole"}, {"code": "whole", "n": round_, "at": D1}, upsert=True)
        assert await db.docs.find_one({"code": "whole"}, {"_id": 0}) == {"code": "whole", "n": round_, "at": D1}
        assert await db.docs.count_documents({}) == 1
    # An upsert whose filter names no _id: the inserted document takes the filter's fields and its own id.
    await db.docs.delete_many({})
    inserted_id = ObjectId()
    await db.docs.update_one({"kind": "login", "key": "k1"}, {"$setOnInsert": {"_id": inserted_id, "at": D1}}, upsert=True)
    assert await db.docs.find_one({}) == {"_id": inserted_id, "kind": "login", "key": "k1", "at": D1}


SORTS = [[("_id", 1)], [("d", -1), ("_id", -1)], [("n", -1), ("t", 1)], [("d", 1), ("n", 1)]]


@pytest.mark.parametrize("sort", SORTS, ids=[repr(s) for s in SORTS])
async def test_sort_orders_as_mongodb_does(db, sort) -> None:
    from tests import mongo_reference as ref

    await db.pool.insert_many([dict(doc) for doc in POOL])
    expected = [doc["_id"] for doc in sorted(POOL, key=lambda doc: ref.sort_key(doc, sort))]
    assert [doc["_id"] async for doc in db.pool.find({}).sort(sort)] == expected
    first = await db.pool.find_one_and_update({}, {"$set": {"first": True}}, sort=sort)
    assert first["_id"] == expected[0]


async def test_indexes_the_code_declares(db) -> None:
    """Each index option the code declares: compound unique, sparse, sparse unique, TTL, descending."""
    await db.ix.create_index([("a", 1), ("b", 1), ("c", -1)])
    await db.ix.create_index([("a", 1), ("b", 1), ("c", 1)])
    await db.ix.create_index("plain")
    await db.ix.create_index([("a", 1), ("b", 1), ("c", 1), ("d", 1), ("e", 1)])
    await db.ix.create_index([("n", -1)])
    await db.ix.create_index([("c", 1), ("d", -1)])
    await db.ix.create_index("check_at", sparse=True)
    await db.ix.create_index("active_for", unique=True, sparse=True)
    await db.ix.insert_many([{"_id": 1}, {"_id": 2}])  # two documents without the sparse unique key
    await db.ix.insert_one({"_id": 3, "active_for": "app-1"})
    with pytest.raises(DuplicateKeyError):
        await db.ix.insert_one({"_id": 4, "active_for": "app-1"})
    await db.ix.update_one({"_id": 3}, {"$unset": {"active_for": ""}})
    await db.ix.insert_one({"_id": 4, "active_for": "app-1"})  # freed by the unset
    assert await db.ix.count_documents({}) == 4


async def test_navigation_counts_pipeline(db) -> None:
    """The catalogue's count per theme: $match, $unwind of a string array, $group by a path."""
    await db.services.insert_many([
        {"status": "published", "themes": ["birth", "travel"], "department": "gongan"},
        {"status": "published", "themes": ["travel"], "department": "gongan"},
        {"status": "draft", "themes": ["travel"], "department": "shebao"},
        {"status": "published", "themes": [], "department": "shebao"},
    ])
    themes = await (await db.services.aggregate([{"$match": {"status": "published"}}, {"$unwind": "$themes"},
                                                 {"$group": {"_id": "$themes", "n": {"$sum": 1}}}])).to_list()
    assert {row["_id"]: row["n"] for row in themes} == {"birth": 1, "travel": 2}
    departments = await (await db.services.aggregate([{"$match": {"status": "published"}},
                                                      {"$group": {"_id": "$department", "n": {"$sum": 1}}}])).to_list()
    assert {row["_id"]: row["n"] for row in departments} == {"gongan": 2, "shebao": 1}


async def test_expired_document_stays_readable_until_the_ttl_sweep(db, embedded) -> None:
    """MongoDB removes TTL-expired documents from a background monitor (every 60 s), never on read."""
    await db.idem.create_index("expires_at", expireAfterSeconds=0)
    past = datetime.datetime.now(UTC) - datetime.timedelta(days=3)
    await db.idem.insert_one({"_id": "k", "state": "done", "expires_at": past})
    found = await db.idem.find_one({"_id": "k"})
    if embedded:
        assert found is not None and found["state"] == "done"
    else:  # the monitor may have run in between: then the key is free again
        assert found is not None or (await db.idem.insert_one({"_id": "k"})).inserted_id == "k"


async def test_find_one_and_replace_of_an_expired_record(db) -> None:
    now = datetime.datetime(2026, 11, 29, 4, 0, tzinfo=UTC)
    await db.idem.insert_many([{"_id": "old", "state": "done", "expires_at": now - datetime.timedelta(hours=1)},
                               {"_id": "live", "state": "done", "expires_at": now + datetime.timedelta(hours=1)}])
    fresh = {"state": "running", "expires_at": now + datetime.timedelta(days=1)}
    assert await db.idem.find_one_and_replace({"_id": "live", "expires_at": {"$lte": now}}, {"_id": "live", **fresh}) is None
    replaced = await db.idem.find_one_and_replace({"_id": "old", "expires_at": {"$lte": now}}, {"_id": "old", **fresh})
    assert replaced["state"] == "done"
    assert await db.idem.find_one({"_id": "old"}) == {"_id": "old", **fresh}
    assert (await db.idem.find_one({"_id": "live"}))["state"] == "done"



@pytest.mark.divergence
async def test_divergence_expr_beside_id(db, embedded) -> None:
    """nx-27017 answers an `$expr` filter from the expression alone, dropping `_id` and every other field
    beside it; the code guards amounts with a plain `{refunded: {$lte: total - amount}}` instead."""
    await db.orders.insert_many([{"_id": "A", "refunded": 0, "total": 2000}, {"_id": "B", "refunded": 1500, "total": 2000}])
    query = {"_id": "B", "$expr": {"$lte": [{"$add": ["$refunded", 501]}, "$total"]}}
    found = {doc["_id"] async for doc in db.orders.find(query)}
    assert found == ({"A"} if embedded else set())


# ---- every shape the code sends is pinned above (runs last: tests/datastore_shapes.py) -------------

async def test_every_shape_the_code_sends_is_pinned() -> None:
    from tests.datastore_shapes import BOOK, unpinned_report

    if not (BOOK.conformance_ran and BOOK.other_tests_ran):
        pytest.skip("needs the whole suite: the shapes the code sends come from the other tests")
    report = unpinned_report()
    assert not report, (f"{len(report)} of {len(BOOK.sent)} datastore shapes the code sends are not pinned "
                        "by a conformance test:\n" + "\n".join(report))
