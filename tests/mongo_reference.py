"""MongoDB's matching, update and sort rules for the operators CityGate uses, in plain Python.

The conformance suite runs every filter and update shape the code sends against the datastore and
compares the answer with these rules (taken from the MongoDB manual's query, update and sort-order
pages). They cover only what the code sends; an operator they do not know raises, so a new one is
added here deliberately, with its rule.
"""

from __future__ import annotations

import copy
import datetime
import re
from typing import Any

MISSING = object()


def lookup(document: Any, path: str) -> list[Any]:
    """Every value a dotted path reaches (arrays are traversed); [MISSING] when it reaches none."""
    values = [document]
    for part in path.split("."):
        reached = []
        for value in values:
            if isinstance(value, dict):
                reached.append(value.get(part, MISSING))
            elif isinstance(value, list):
                if part.isdigit():
                    reached.append(value[int(part)] if int(part) < len(value) else MISSING)
                else:
                    reached.extend(item.get(part, MISSING) for item in value if isinstance(item, dict))
            else:
                reached.append(MISSING)
        values = reached or [MISSING]
    return values


def _candidates(values: list[Any]) -> list[Any]:
    """A field's values as a query sees them: an array stands for itself and for each element."""
    out = []
    for value in values:
        out.append(value)
        if isinstance(value, list):
            out.extend(value)
    return out


def _bracket(value: Any) -> int:
    """Type order for comparisons and sorting (null < numbers < strings < objects < arrays < bools < dates)."""
    if value is None or value is MISSING:
        return 0
    if isinstance(value, bool):
        return 6
    if isinstance(value, int | float):
        return 1
    if isinstance(value, str):
        return 2
    if isinstance(value, dict):
        return 3
    if isinstance(value, list):
        return 4
    if isinstance(value, datetime.datetime):
        return 7
    return 5


def _equal(stored: Any, wanted: Any) -> bool:
    if wanted is None:
        return stored is None or stored is MISSING
    if stored is MISSING or _bracket(stored) != _bracket(wanted):
        return False
    return stored == wanted


def _compare(stored: Any, wanted: Any, operator: str) -> bool:
    # Comparisons only match values of the same type bracket (no cross-type ordering in queries).
    if stored is MISSING or stored is None or _bracket(stored) != _bracket(wanted):
        return False
    return {"$gt": stored > wanted, "$gte": stored >= wanted, "$lt": stored < wanted, "$lte": stored <= wanted}[operator]


def _field_matches(document: Any, path: str, condition: Any) -> bool:
    values = lookup(document, path)
    candidates = _candidates(values)
    if not (isinstance(condition, dict) and condition and all(key.startswith("$") for key in condition)):
        return any(_equal(value, condition) for value in candidates)
    for operator, argument in condition.items():
        if operator == "$eq":
            ok = any(_equal(value, argument) for value in candidates)
        elif operator == "$ne":
            ok = not any(_equal(value, argument) for value in candidates)
        elif operator in ("$gt", "$gte", "$lt", "$lte"):
            ok = any(_compare(value, argument, operator) for value in candidates)
        elif operator == "$in":
            ok = any(_equal(value, wanted) for value in candidates for wanted in argument)
        elif operator == "$nin":
            ok = not any(_equal(value, wanted) for value in candidates for wanted in argument)
        elif operator == "$exists":
            ok = any(value is not MISSING for value in values) == bool(argument)
        elif operator == "$regex":
            pattern = re.compile(argument, re.IGNORECASE if "i" in condition.get("$options", "") else 0)
            ok = any(isinstance(value, str) and pattern.search(value) for value in candidates)
        elif operator == "$options":
            ok = True
        else:
            raise NotImplementedError(f"reference rule for {operator} not written")
        if not ok:
            return False
    return True


def evaluate(document: Any, expression: Any) -> Any:
    """Aggregation expressions used inside $expr."""
    if isinstance(expression, str) and expression.startswith("$"):
        (value,) = lookup(document, expression[1:])[:1]
        return None if value is MISSING else value
    if isinstance(expression, dict):
        (operator, arguments), = expression.items()
        values = [evaluate(document, argument) for argument in arguments]
        if operator == "$add":
            return None if any(v is None for v in values) else sum(values)
        if operator in ("$lt", "$lte", "$gt", "$gte", "$eq", "$ne"):
            left, right = values
            # Aggregation comparisons order across types by the BSON bracket, null lowest.
            key_left, key_right = (_bracket(left), left if left is not None else 0), (_bracket(right), right if right is not None else 0)
            return {"$lt": key_left < key_right, "$lte": key_left <= key_right, "$gt": key_left > key_right,
                    "$gte": key_left >= key_right, "$eq": key_left == key_right, "$ne": key_left != key_right}[operator]
        raise NotImplementedError(f"reference rule for {operator} not written")
    return expression


def matches(document: dict[str, Any], query: dict[str, Any]) -> bool:
    for key, condition in query.items():
        if key == "$and":
            ok = all(matches(document, part) for part in condition)
        elif key == "$or":
            ok = any(matches(document, part) for part in condition)
        elif key == "$nor":
            ok = not any(matches(document, part) for part in condition)
        elif key == "$expr":
            ok = bool(evaluate(document, condition))
        elif key.startswith("$"):
            raise NotImplementedError(f"reference rule for {key} not written")
        else:
            ok = _field_matches(document, key, condition)
        if not ok:
            return False
    return True


def _set_path(document: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        document = document.setdefault(part, {})
    document[parts[-1]] = copy.deepcopy(value)


def _get_path(document: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        if not isinstance(document, dict) or part not in document:
            return MISSING
        document = document[part]
    return document


def apply_update(document: dict[str, Any], update: dict[str, Any], inserting: bool = False) -> dict[str, Any]:
    """The document after `update` ($set, $unset, $inc, $setOnInsert, $addToSet with or without $each)."""
    result = copy.deepcopy(document)
    for operator, fields in update.items():
        for path, value in fields.items():
            if operator == "$set" or (operator == "$setOnInsert" and inserting):
                _set_path(result, path, value)
            elif operator == "$setOnInsert":
                pass
            elif operator == "$unset":
                parts = path.split(".")
                parent = _get_path(result, ".".join(parts[:-1])) if len(parts) > 1 else result
                if isinstance(parent, dict):
                    parent.pop(parts[-1], None)
            elif operator == "$inc":
                current = _get_path(result, path)
                _set_path(result, path, (0 if current is MISSING else current) + value)
            elif operator == "$addToSet":
                items = value["$each"] if isinstance(value, dict) and "$each" in value else [value]
                current = _get_path(result, path)
                current = [] if current is MISSING else list(current)
                current += [item for i, item in enumerate(items) if item not in current and item not in items[:i]]
                _set_path(result, path, current)
            else:
                raise NotImplementedError(f"reference rule for {operator} not written")
    return result


def sort_key(document: dict[str, Any], spec: list[tuple[str, int]]) -> tuple:
    """A key for sorted(): MongoDB's sort order (missing and null first ascending), descending by negation."""
    key = []
    for path, direction in spec:
        value = _get_path(document, path)
        value = None if value is MISSING else value
        key.append(_Ordered(value, direction))
    return tuple(key)


class _Ordered:
    def __init__(self, value: Any, direction: int) -> None:
        self.key, self.direction = (_bracket(value), 0 if value is None else value), direction

    def __lt__(self, other: _Ordered) -> bool:
        return self.key < other.key if self.direction > 0 else other.key < self.key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Ordered) and self.key == other.key
