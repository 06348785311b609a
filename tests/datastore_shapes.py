"""Every query and update shape the code sends must be pinned by the datastore conformance suite.

The embedded nx-27017 diverges from MongoDB silently and per shape: an `$or` beside `_id` once let
an update land on another citizen's order. So this plugin listens to every command the test session
sends (PyMongo command monitoring) and reduces each filter, update, sort, pipeline and index to its
*shape*: field names become `f` (except `_id`), values become their BSON type, operators stay. Shapes
sent to the conformance suite's databases (`conf_*`) by tests not marked `divergence` are *pinned*;
shapes the code sends anywhere else must be among them. When the whole suite runs, the conformance
module's last test (moved to the end of the run) fails on any unpinned shape, listing each with an
example and the test that sent it. Shapes sent by `divergence` tests are known to be wrong on nx-27017: code that sends
one is named as such.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pytest
from bson import Binary, Int64, ObjectId, Regex
from pymongo import monitoring

CONFORMANCE_DB_PREFIX = "conf_"
CONFORMANCE_MODULE = "test_datastore_conformance.py"
FINAL_CHECK = "test_every_shape_the_code_sends_is_pinned"

Shape = tuple


# ---- reducing documents to shapes -------------------------------------------------------------------

def value_shape(value: Any) -> Any:
    """The BSON type a value is sent as; lists by the set of their elements' types."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | Int64):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, datetime.datetime):
        return "date"
    if isinstance(value, ObjectId):
        return "oid"
    if isinstance(value, bytes | Binary):
        return "bin"
    if isinstance(value, Regex | re.Pattern):
        return "regex"
    if isinstance(value, list | tuple):
        return ("list",) + tuple(sorted({_key(value_shape(item)) for item in value}))
    if isinstance(value, Mapping):
        return "doc"
    return type(value).__name__


def _key(shape: Any) -> str:
    return shape if isinstance(shape, str) else repr(shape)


def field_shape(name: str) -> str:
    """`_id` stays itself; other paths keep only their depth (`a.b` -> `f.f`), array indexes `n`."""
    if name == "_id":
        return "_id"
    return ".".join("n" if part.isdigit() else "_id" if part == "_id" else "f" for part in name.split("."))


def _is_operator_document(value: Any) -> bool:
    return isinstance(value, Mapping) and bool(value) and all(str(key).startswith("$") for key in value)


def operator_shape(operator: str, argument: Any) -> tuple:
    if operator == "$exists":
        return (operator, bool(argument))
    if operator in ("$options", "$type"):
        return (operator, str(argument))
    if operator in ("$not",) and _is_operator_document(argument):
        return (operator, tuple(sorted(operator_shape(op, arg) for op, arg in argument.items())))
    if operator == "$elemMatch" and isinstance(argument, Mapping):
        return (operator, filter_shape(argument))
    return (operator, value_shape(argument))


def filter_shape(query: Mapping[str, Any] | None) -> Shape:
    """The set of a filter's clauses, each as (field shape, operators or value type); sorted, unique."""
    clauses: set[tuple] = set()
    for name, value in (query or {}).items():
        if name in ("$and", "$or", "$nor"):
            clauses.add((name, tuple(sorted({filter_shape(part) for part in value}, key=repr))))
        elif name.startswith("$"):
            clauses.add((name, _expression_shape(value)))  # $expr, $text, ...
        elif _is_operator_document(value):
            clauses.add((field_shape(name), tuple(sorted(operator_shape(op, arg) for op, arg in value.items()))))
        else:
            clauses.add((field_shape(name), value_shape(value)))
    return tuple(sorted(clauses, key=repr))


def update_shapes(update: Any, upsert: bool) -> set[Shape]:
    """An update as its atoms: (operator, field shape, value type, upsert) for each field it changes.

    Divergences so far were per operator and value type (a `$set` date stored as text, a `$push`ed
    document stored as JSON), not between the fields of one update, so atoms keep the pinning finite.
    """
    flag = "upsert" if upsert else ""
    if isinstance(update, list):
        return {("pipeline",) + tuple(stage_shape(stage) for stage in update) + (flag,)}
    if not _is_operator_document(update):
        return {("replacement", flag)}
    atoms = set()
    for operator, fields in update.items():
        for name, value in fields.items():
            if _is_operator_document(value):  # {$each: [...]}, {$slice: ...}
                value_type = tuple(sorted((op, _key(value_shape(arg))) for op, arg in value.items()))
            else:
                value_type = _key(value_shape(value))
            atoms.add((operator, field_shape(name), value_type, flag))
    return atoms


def sort_shape(sort: Mapping[str, Any] | None) -> Shape:
    return tuple((field_shape(name), direction if isinstance(direction, int) else repr(direction))
                 for name, direction in (sort or {}).items())


def _expression_shape(value: Any) -> Any:
    if isinstance(value, str):
        return "$path" if value.startswith("$") else "str"
    if isinstance(value, Mapping):
        return tuple(sorted(((key if key.startswith("$") else "f", _expression_shape(item)) for key, item in value.items()),
                            key=repr))
    if isinstance(value, list):
        return tuple(_expression_shape(item) for item in value)
    return value_shape(value)


def stage_shape(stage: Mapping[str, Any]) -> tuple:
    (name, spec), = stage.items()
    if name == "$match":
        return (name,)  # its filter is pinned on its own, as an `aggregate` filter
    if name == "$sort":
        return (name, sort_shape(spec))
    if name in ("$skip", "$limit", "$count", "$sample"):
        return (name,)
    if name == "$facet":
        return (name, tuple(sorted((tuple(stage_shape(s) for s in sub) for sub in spec.values()), key=repr)))
    return (name, _expression_shape(spec))


def index_shape(index: Mapping[str, Any]) -> tuple:
    keys = tuple(direction if isinstance(direction, int) else str(direction) for direction in index["key"].values())
    return ("index", keys, bool(index.get("unique")), bool(index.get("sparse")),
            "ttl" if "expireAfterSeconds" in index else "",
            filter_shape(index["partialFilterExpression"]) if "partialFilterExpression" in index else ())


def command_shapes(name: str, command: Mapping[str, Any]) -> Iterable[tuple[str, Shape, Any]]:
    """(kind, shape, example) for each part of one command that the datastore interprets."""
    if name == "find":
        yield "find", filter_shape(command.get("filter")), command.get("filter")
        if command.get("sort"):
            yield "sort", sort_shape(command["sort"]), command["sort"]
    elif name == "aggregate":
        pipeline = command.get("pipeline") or []
        if pipeline and "$match" in pipeline[0]:
            yield "aggregate", filter_shape(pipeline[0]["$match"]), pipeline[0]["$match"]
        yield "pipeline", tuple(stage_shape(stage) for stage in pipeline), pipeline
    elif name in ("count", "distinct"):
        yield name, filter_shape(command.get("query")), command.get("query")
    elif name == "update":
        for statement in command.get("updates", []):
            kind = "updateMany" if statement.get("multi") else "updateOne"
            yield kind, filter_shape(statement.get("q")), statement.get("q")
            for atom in update_shapes(statement.get("u"), bool(statement.get("upsert"))):
                yield kind + "-doc", atom, statement.get("u")
    elif name == "findAndModify":
        yield "findAndModify", filter_shape(command.get("query")), command.get("query")
        if command.get("remove"):
            yield "findAndModify-doc", ("remove",), None
        else:
            for atom in update_shapes(command.get("update"), bool(command.get("upsert"))):
                yield "findAndModify-doc", atom, command.get("update")
        if command.get("sort"):
            yield "sort", sort_shape(command["sort"]), command["sort"]
    elif name == "delete":
        for statement in command.get("deletes", []):
            kind = "deleteOne" if statement.get("limit") == 1 else "deleteMany"
            yield kind, filter_shape(statement.get("q")), statement.get("q")
    elif name == "createIndexes":
        for index in command.get("indexes", []):
            yield "createIndexes", index_shape(index), index


def describe(kind: str, shape: Shape) -> str:
    return f"{kind} {shape!r}"


# ---- recording ----------------------------------------------------------------------------------------

@dataclasses.dataclass
class Sighting:
    example: Any
    test: str


@dataclasses.dataclass
class ShapeBook:
    pinned: dict[tuple[str, Shape], Sighting] = dataclasses.field(default_factory=dict)
    known_wrong: dict[tuple[str, Shape], Sighting] = dataclasses.field(default_factory=dict)
    sent: dict[tuple[str, Shape], Sighting] = dataclasses.field(default_factory=dict)
    current_test: str = ""
    current_is_divergence: bool = False
    conformance_ran: bool = False
    other_tests_ran: bool = False

    def record(self, database: str, name: str, command: Mapping[str, Any]) -> None:
        try:
            shapes = list(command_shapes(name, command))
        except Exception as error:  # noqa: BLE001 - a shape we cannot reduce is itself worth a look
            # Never pinned, wherever it was sent: the same reducer bug in a conformance test proves nothing.
            self.sent.setdefault(("unreadable", (name, repr(error))), Sighting(command, self.current_test))
            return
        if database.startswith(CONFORMANCE_DB_PREFIX):
            book = self.known_wrong if self.current_is_divergence else self.pinned
        else:
            book = self.sent
        for kind, shape, example in shapes:
            book.setdefault((kind, shape), Sighting(example, self.current_test))

    def unpinned(self) -> list[tuple[tuple[str, Shape], Sighting]]:
        return [(key, seen) for key, seen in sorted(self.sent.items(), key=lambda item: repr(item[0]))
                if key not in self.pinned]


BOOK = ShapeBook()


class _ShapeListener(monitoring.CommandListener):
    def started(self, event: monitoring.CommandStartedEvent) -> None:
        BOOK.record(event.database_name, event.command_name, event.command)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


monitoring.register(_ShapeListener())  # before any client exists: every client created later reports here


# ---- pytest hooks -------------------------------------------------------------------------------------

def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "divergence: a conformance test of a behaviour nx-27017 gets wrong; its shapes are not pinned")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    BOOK.current_test = item.nodeid
    BOOK.current_is_divergence = item.get_closest_marker("divergence") is not None
    if item.path.name == CONFORMANCE_MODULE:
        BOOK.conformance_ran = True
    else:
        BOOK.other_tests_ran = True
    try:
        return (yield)
    finally:
        BOOK.current_test, BOOK.current_is_divergence = "", False


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    # The check of every shape sent runs last, after every other test has sent its commands.
    last = [item for item in items if item.name == FINAL_CHECK]
    items[:] = [item for item in items if item.name != FINAL_CHECK] + last


def unpinned_report() -> list[str]:
    """One entry per shape the code sent that no conformance test pins (empty when all are pinned)."""
    lines = []
    for (kind, shape), seen in BOOK.unpinned():
        wrong = " (nx-27017 is KNOWN to get this shape wrong)" if (kind, shape) in BOOK.known_wrong else ""
        lines.append(f"{describe(kind, shape)}{wrong}\n    e.g. {seen.example!r}\n    sent by {seen.test}")
    return lines
