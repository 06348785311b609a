"""Finding a request's handler by its first path segments instead of trying every route in turn.

Tornado's router tries each rule's regular expression in order until one matches; with a hundred
routes, a request for a route near the end pays for every miss before it. `RouteIndex` keeps the
rules under the first `SEGMENTS` literal segments of their patterns, so a request is matched only
against the few rules that can match it, still in the table's order (the first match wins, as in
Tornado). A pattern whose first segments are not all literal is tried for every request.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import tornado.httputil
import tornado.routing
import tornado.web

SEGMENTS = 3
_REGEX_SYNTAX = re.compile(r"[\\.^$*+?{}\[\]|()]")


def literal_prefix(pattern: str) -> str:
    """The part of a route pattern before its first regular-expression syntax."""
    syntax = _REGEX_SYNTAX.search(pattern)
    return pattern if syntax is None else pattern[:syntax.start()]


def literal_key(pattern: str) -> str | None:
    """The index key of a route pattern: its first SEGMENTS segments when they are literal (or the
    whole pattern, when it is literal and shorter); None when a key cannot be known."""
    pattern = pattern.removesuffix("$")
    syntax = _REGEX_SYNTAX.search(pattern)
    literal = literal_prefix(pattern)
    if not literal.startswith("/"):
        return None
    segments = literal[1:].split("/")
    if syntax is not None:
        segments = segments[:-1]  # the last one continues with regex syntax: not complete
    if len(segments) >= SEGMENTS:
        return "/".join(segments[:SEGMENTS])
    return "/".join(segments) if syntax is None else None


def path_key(path: str) -> str:
    """The index key a request path is filed under (see `literal_key`)."""
    return "/".join(path[1:].split("/", SEGMENTS)[:SEGMENTS])


def _compatible(prefix: str, start: str) -> bool:
    """Whether a path can begin with both `prefix` and `start`."""
    return prefix.startswith(start) or start.startswith(prefix)


class RouteIndex:
    """The rules of a routing table grouped by `literal_key`, each group in table order."""

    def __init__(self, rules: Sequence[tornado.routing.Rule], patterns: Sequence[str]) -> None:
        table = list(zip(rules, patterns, strict=True))
        keys = {literal_key(pattern) for _, pattern in table} - {None}
        self.unkeyed = [rule for rule, pattern in table if literal_key(pattern) is None]
        # A group holds, in table order, its own rules and the unkeyed ones that could match its
        # paths (those begin with "/<key>").
        self._groups = {key: [rule for rule, pattern in table
                              if literal_key(pattern) == key
                              or (literal_key(pattern) is None and _compatible(literal_prefix(pattern), "/" + key))]
                        for key in keys}

    def candidates(self, path: str) -> list[tornado.routing.Rule]:
        """The rules that could match `path`, in table order."""
        return self._groups.get(path_key(path), self.unkeyed)


class IndexedApplication(tornado.web.Application):
    """A Tornado application that looks its handlers up through a `RouteIndex`."""

    def __init__(self, rules: list[tornado.web.URLSpec], **settings: Any) -> None:
        super().__init__(rules, **settings)
        self.route_index = RouteIndex(rules, [rule.matcher.regex.pattern for rule in rules])

    def find_handler(self, request: tornado.httputil.HTTPServerRequest,
                     **kwargs: Any) -> tornado.web._HandlerDelegate:
        for rule in self.route_index.candidates(request.path):
            params = rule.matcher.match(request)
            if params is not None:
                return self.get_handler_delegate(request, rule.target, rule.target_kwargs,
                                                 params.get("path_args"), params.get("path_kwargs"))
        # No route: Tornado's own lookup, which ends at the default (404) handler.
        return super().find_handler(request, **kwargs)
