"""Start the embedded nx-27017 server with fixes for the bugs of it that CityGate met.

nx-27017 0.8.1 (on neosqlite 1.17.2) diverges from MongoDB silently. Each patch below mends one
divergence in the package's own source, in memory, before the server starts; CityGate's code stays
plain MongoDB. tests/test_datastore_conformance.py checks every filter and update shape the code
sends (tests/datastore_shapes.py fails the suite on a shape it does not pin), so a package upgrade
that moves the patched code shows up there; this launcher also warns, and runs that part unpatched.

- `$set` of a datetime (or boolean) on an existing document stored its str() ("2026-11-23 02:00:00")
  or 0/1, so range queries on it silently missed: encode both the way sub-documents are encoded.
- `$or` / `$and` / `$nor` beside other fields were joined into the WHERE clause without parentheses:
  `_id = ? AND status = ? AND a IS NULL OR a <= ?` matches *other* documents through the last branch,
  so an update keyed by `_id` could land on another citizen's order. Parenthesise the group.
- `{field: {$exists: false}}` matched documents whose field holds null (json_extract cannot tell a
  JSON null from a missing key); `{$exists: true}` missed them. Ask json_type, which can.
- `{field: {$ne: null}}` matched documents without the field (MongoDB: only present, non-null values),
  and `{field: {$ne: value}}` in updates missed documents whose field is null or missing (SQL `!=`).
- Inside `$or` (matched in Python), `{field: null}` missed documents whose field holds null.
- The `count`-shaped aggregation PyMongo's count_documents sends, and `distinct`, went through
  other query engines that dropped ObjectId `_id` conditions, null conditions, `$or` groups and even
  whole filters: answer the count from the collection's own count (the engine `find` uses) and
  distinct from `find`, both of which the conformance suite pins. Other
  pipelines keep the aggregation engine, with their leading `$match` read as `find` reads filters.
- find_one_and_update with upsert inserted the document without its `$setOnInsert` fields.
- commitTransaction of a transaction the server does not know (it restarted since the transaction
  began) answered a bare "No session specified", which drivers cannot retry. MongoDB answers
  NoSuchTransaction (251) labelled TransientTransactionError, so the driver runs the transaction again.
- Transactions of different sessions ran at once in one SQLite transaction (savepoints on one
  connection): 17 of 20 concurrent transactions failed with "no such savepoint", and their writes
  landed anyway. Open transactions now take turns, alone (TransactionGate).
- Reads deleted TTL-expired documents on the spot (lazy purge), so a document vanished the instant
  its date passed, while MongoDB keeps it readable until its TTL monitor runs (every 60 s). Purge
  from a background sweep every 60 s instead, as MongoDB does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import inspect
import sys
from typing import Any


@dataclasses.dataclass(frozen=True)
class SourcePatch:
    """Replace `old` (each occurrence, at least one) by `new` in one module's source."""

    module: str
    old: str
    new: str
    why: str


_EXISTS_UNIFIED_OLD = """                        if value:
                            sql = f"{field_access} IS NOT NULL"
                            params = []
                        else:
                            sql = f"{field_access} IS NULL"
                            params = []"""
_EXISTS_UNIFIED_NEW = """                        presence = field_access.replace("jsonb_extract(", "json_type(", 1).replace("json_extract(", "json_type(", 1)
                        if value:
                            sql = f"{presence} IS NOT NULL"
                            params = []
                        else:
                            sql = f"{presence} IS NULL"
                            params = []"""
_EXISTS_BUILDER_OLD = """                        if op_val:
                            clauses.append(
                                f"{self.jsonb.json_function_prefix}_extract(data, {json_path}) IS NOT NULL"
                            )
                        else:
                            clauses.append(
                                f"{self.jsonb.json_function_prefix}_extract(data, {json_path}) IS NULL"
                            )"""
_EXISTS_BUILDER_NEW = """                        if op_val:
                            clauses.append(f"json_type(data, {json_path}) IS NOT NULL")
                        else:
                            clauses.append(f"json_type(data, {json_path}) IS NULL")"""

_NULL_EQUALITY_OLD = """                        else:
                            candidates = _iter_leaf_values(
                                document, field.split(".")
                            )"""
_NULL_EQUALITY_NEW = """                        elif value is None:
                            if doc_value is not None:
                                matches.append(False)
                        else:
                            candidates = _iter_leaf_values(
                                document, field.split(".")
                            )"""

PATCHES = (
    SourcePatch("neosqlite.collection.query_helper._sql_updates",
                "isinstance(converted_val, (dict, list))",
                "isinstance(converted_val, (dict, list, bool, __import__('datetime').datetime))",
                "$set of a datetime or boolean on an existing document"),
    SourcePatch("neosqlite.collection.sql_translator_unified",
                """                sql = " OR ".join(clauses)""",
                """                sql = "(" + " OR ".join(clauses) + ")\"""",
                "$or beside other conditions"),
    SourcePatch("neosqlite.collection.sql_translator_unified",
                """                sql = " AND ".join(clauses)""",
                """                sql = "(" + " AND ".join(clauses) + ")\"""",
                "$and beside other conditions"),
    SourcePatch("neosqlite.collection.sql_translator_unified", _EXISTS_UNIFIED_OLD, _EXISTS_UNIFIED_NEW,
                "$exists on a field holding null"),
    SourcePatch("neosqlite.collection.query_helper._sql_query_builder", _EXISTS_BUILDER_OLD, _EXISTS_BUILDER_NEW,
                "$exists on a field holding null"),
    SourcePatch("neosqlite.collection.sql_translator_unified",
                """sql = f"{type_field_access} IS NOT 'null'\"""",
                """sql = f"COALESCE({type_field_access}, 'null') != 'null'\"""",
                "$ne: null on a missing field"),
    SourcePatch("neosqlite.collection.query_helper._sql_query_builder",
                """f"json_type(data, {json_path}) IS NOT 'null'\"""",
                """f"COALESCE(json_type(data, {json_path}), 'null') != 'null'\"""",
                "$ne: null on a missing field"),
    SourcePatch("neosqlite.collection.sql_translator_unified",
                """sql = f"{field_access} != ?\"""",
                """sql = f"{field_access} IS NOT ?\"""",
                "$ne on a null or missing field"),
    SourcePatch("neosqlite.collection.query_helper.query_builder", _NULL_EQUALITY_OLD, _NULL_EQUALITY_NEW,
                "equality with null inside $or"),
    SourcePatch("nx_27017.handler",
                """                cursor = coll.aggregate(pipeline)  # type: ignore[assignment]
                docs = cursor.to_list()""",
                """                docs = _citygate_aggregate(self, coll, pipeline)""",
                "count_documents and aggregation filters"),
    SourcePatch("nx_27017.handler",
                """                values = coll.distinct(key, query)""",
                """                values = _citygate_distinct(self, coll, key, query)""",
                "distinct"),
    SourcePatch("neosqlite.collection.query_engine.find_operations",
                """                new_doc = build_upsert_base_document(filter)
                res = self.insert_one(new_doc, session=session)""",
                """                new_doc = build_upsert_base_document(filter)
                for path, value in (update.get("$setOnInsert") or {}).items():
                    *parents, leaf = path.split(".")
                    node = new_doc
                    for part in parents:
                        node = node.setdefault(part, {})
                    node[leaf] = value
                res = self.insert_one(new_doc, session=session)""",
                "find_one_and_update upsert without its $setOnInsert"),
    SourcePatch("nx_27017.handler",
                """                if acted:
                    return request_id, {"ok": 1}
            return request_id, {"ok": 0, "errmsg": "No session specified"}

        if "abortTransaction" in command_doc:""",
                """                if acted:
                    return request_id, {"ok": 1}
            return request_id, {"ok": 0, "errmsg": "Transaction has been aborted.", "code": 251,
                                "codeName": "NoSuchTransaction", "errorLabels": ["TransientTransactionError"]}

        if "abortTransaction" in command_doc:""",
                "commitTransaction of a transaction the server does not know"),
    SourcePatch("nx_27017.server",
                """                        if is_insert or has_payload_docs:
                            request_id, response_doc = await asyncio.to_thread(
                                handler.handle_insert, msg
                            )
                        else:
                            request_id, response_doc = await asyncio.to_thread(
                                handler.handle_command, msg
                            )""",
                """                        async with _citygate_transaction_gate.hold(handler, msg):
                            if is_insert or has_payload_docs:
                                request_id, response_doc = await asyncio.to_thread(
                                    handler.handle_insert, msg
                                )
                            else:
                                request_id, response_doc = await asyncio.to_thread(
                                    handler.handle_command, msg
                                )""",
                "concurrent transactions sharing one SQLite transaction"),
)


def _count_form(pipeline: list[dict[str, Any]]) -> tuple[dict[str, Any], int, int] | None:
    """(filter, skip, limit) when `pipeline` is count_documents' [$match, $skip?, $limit?, $group n: $sum 1]."""
    if len(pipeline) < 2 or set(pipeline[0]) != {"$match"} or pipeline[-1] != {"$group": {"_id": 1, "n": {"$sum": 1}}}:
        return None
    skip = limit = 0
    for stage in pipeline[1:-1]:
        if set(stage) == {"$skip"}:
            skip = int(stage["$skip"])
        elif set(stage) == {"$limit"}:
            limit = int(stage["$limit"])
        else:
            return None
    return pipeline[0]["$match"], skip, limit


def _citygate_aggregate(handler: Any, collection: Any, pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if pipeline and set(pipeline[0]) == {"$match"}:
        pipeline = [{"$match": handler._convert_objectids(pipeline[0]["$match"])}, *pipeline[1:]]
    counted = _count_form(pipeline)
    if counted is None:
        return collection.aggregate(pipeline).to_list()
    query, skip, limit = counted
    n = max(0, collection.count_documents(query) - skip)
    n = min(n, limit) if limit else n
    return [{"_id": 1, "n": n}] if n else []


def _path_values(document: Any, path: str) -> list[Any]:
    values = [document]
    for part in path.split("."):
        values = [item for value in values for item in (value if isinstance(value, list) else [value])]
        values = [value[part] for value in values if isinstance(value, dict) and part in value]
    return [item for value in values for item in (value if isinstance(value, list) else [value])]


def _citygate_distinct(handler: Any, collection: Any, key: str, query: dict[str, Any] | None) -> list[Any]:
    distinct: list[Any] = []
    for document in collection.find(handler._convert_objectids(query or {})):
        for value in _path_values(document, key):
            if value not in distinct:
                distinct.append(value)
    return distinct


class TransactionGate:
    """Open transactions take turns, alone.

    nx-27017 keeps a database in one SQLite connection and a transaction as a SAVEPOINT on it, while
    it runs the commands of all connections at once in threads. Two open transactions, or a plain
    write beside one, so share one SQLite transaction: the RELEASE of one drops the other's savepoint
    ("no such savepoint", an error drivers cannot retry) and writes land outside the transaction they
    belong to. MongoDB isolates them; here a transaction runs from its first command to its commit
    or abort with no other write beside it (reads pass: they may see its uncommitted writes, which
    MongoDB would not show, but they cannot break it). A transaction idle for IDLE_ABORT_SECONDS (its client
    died) is aborted, as MongoDB's transactionLifetimeLimitSeconds does.
    """

    IDLE_ABORT_SECONDS = 60.0

    def __init__(self) -> None:
        self.owner: str | None = None  # the lsid whose transaction is open
        self.owner_seen = 0.0
        self.plain_running = 0
        self.transactions_waiting = 0
        self.changed: Any = None  # an asyncio.Condition, made on the server's loop

    # Plain commands that write wait for the open transaction; everything else (handshakes, reads)
    # passes. A handshake must: the transaction's own next command may need a new connection.
    WRITES = frozenset({"insert", "update", "delete", "findAndModify", "findandmodify", "create", "createIndexes",
                        "drop", "dropDatabase", "dropIndexes", "renameCollection", "bulkWrite"})

    @classmethod
    def transaction_of(cls, msg: dict[str, Any]) -> tuple[str | None, bool, bool]:
        """(the lsid of the transaction the message belongs to, or None; whether it ends it; whether it
        must wait for a transaction it is not part of)."""
        from nx_27017.wire_protocol import _extract_session_id

        body = next((data for kind, data in msg.get("sections", []) if kind == "body" and isinstance(data, dict)), {})
        if body.get("autocommit") is not False or not body.get("lsid"):
            return None, False, not cls.WRITES.isdisjoint(body)
        ends = "commitTransaction" in body or "abortTransaction" in body
        return _extract_session_id(body["lsid"]), ends, True

    def _may_enter(self, lsid: str | None) -> bool:
        if lsid is None:
            return self.owner is None and self.transactions_waiting == 0
        return self.owner == lsid or (self.owner is None and self.plain_running == 0)

    def _abort_if_abandoned(self, handler: Any) -> None:
        import time

        if self.owner is None or time.monotonic() - self.owner_seen < self.IDLE_ABORT_SECONDS:
            return
        for session in handler._tx_sessions(self.owner):
            session.abort_transaction()
        self.owner = None

    @contextlib.asynccontextmanager
    async def hold(self, handler: Any, msg: dict[str, Any]):  # noqa: ANN201
        import asyncio
        import time

        if self.changed is None:
            self.changed = asyncio.Condition()
        lsid, ends, gated = self.transaction_of(msg)
        if not gated:
            yield
            return
        async with self.changed:
            if lsid is not None and self.owner != lsid:
                self.transactions_waiting += 1
            try:
                while not self._may_enter(lsid):
                    try:
                        await asyncio.wait_for(self.changed.wait(), timeout=1.0)
                    except TimeoutError:
                        self._abort_if_abandoned(handler)
            finally:
                if lsid is not None and self.owner != lsid:
                    self.transactions_waiting -= 1
            if lsid is None:
                self.plain_running += 1
            else:
                self.owner, self.owner_seen = lsid, time.monotonic()
        try:
            yield
        finally:
            async with self.changed:
                if lsid is None:
                    self.plain_running -= 1
                else:
                    self.owner_seen = time.monotonic()
                    if ends and self.owner == lsid:
                        self.owner = None
                self.changed.notify_all()


HELPERS = {"_citygate_aggregate": _citygate_aggregate, "_citygate_distinct": _citygate_distinct,
           "_citygate_transaction_gate": TransactionGate()}


def apply(module_name: str, patches: list[SourcePatch]) -> list[SourcePatch]:
    """Apply `patches` to one module; return those whose `old` text was not found (left unapplied)."""
    module = importlib.import_module(module_name)
    source = inspect.getsource(module)
    missing = [patch for patch in patches if patch.old not in source]
    for patch in patches:
        source = source.replace(patch.old, patch.new)
    if len(missing) == len(patches):
        return missing
    namespace = {**vars(module), **HELPERS}
    exec(compile(source, module.__file__, "exec"), namespace)  # noqa: S102
    # A module-level function that changed replaces the original under its name (callers look it up
    # in the module's globals when they call it).
    for name, fixed in namespace.items():
        live = getattr(module, name, None)
        if (inspect.isfunction(fixed) and inspect.isfunction(live) and live.__module__ == module.__name__
                and fixed.__code__.co_code != live.__code__.co_code):
            setattr(module, name, fixed)
    # Classes, and modules that imported them, already hold the original class objects: mend their
    # methods in place rather than rebinding names.
    for name, fixed in namespace.items():
        live = getattr(module, name, None)
        if not (inspect.isclass(fixed) and inspect.isclass(live) and fixed is not live
                and getattr(live, "__module__", None) == module.__name__):
            continue
        for member_name, member in vars(fixed).items():
            if inspect.isfunction(member):
                member.__globals__.update({k: v for k, v in {**vars(module), **HELPERS}.items() if k not in member.__globals__})
                setattr(live, member_name, member)
    return missing


def patch_all() -> list[SourcePatch]:
    """Apply every patch; return the ones that no longer match the installed package."""
    by_module: dict[str, list[SourcePatch]] = {}
    for patch in PATCHES:
        by_module.setdefault(patch.module, []).append(patch)
    missing = []
    for module_name, patches in by_module.items():
        missing += apply(module_name, patches)
    return missing


def sweep_ttl_like_mongodb() -> None:
    """Expired documents stay readable until a sweep every 60 s removes them, as MongoDB's TTL monitor does."""
    from neosqlite import Connection
    from neosqlite.collection import Collection

    Collection._auto_purge_ttl = lambda self: None  # reads no longer delete what has just expired
    original_init = Connection.__init__

    def init_with_sweeper(self, *args, **kwargs) -> None:  # noqa: ANN001, ANN002, ANN003
        kwargs.setdefault("ttl_sweep_interval_s", 60.0)
        original_init(self, *args, **kwargs)

    Connection.__init__ = init_with_sweeper


def main() -> int:
    sweep_ttl_like_mongodb()
    for patch in patch_all():
        print(f"nx_launcher: nx-27017's code changed; running unpatched for: {patch.why}", file=sys.stderr)
    from nx_27017.nx_27017 import main as nx_main

    sys.argv[0] = "nx-27017"
    return nx_main() or 0


if __name__ == "__main__":
    sys.exit(main())
