"""One declaration per route: what it takes and what it answers, as msgspec types.

`@declare(body=..., query=..., answer=...)` on a handler method is the route's contract. The same
declaration

- validates and coerces the input before the method runs (`self.body`, `self.query`), turning what
  msgspec refuses into the service's problem+json field errors, in Chinese and English;
- describes the route in `/openapi.json` (request and answer schemas, error answers, examples);
- in the test suite (`check_answers`), checks every JSON answer the method sends against its type,
  so the whole suite keeps the documented answers honest.

msgspec was chosen over pydantic v2 by measuring (bench/bench_contract.py): it decodes and
validates in C and emits JSON Schema 2020-12, which OpenAPI 3.1 takes as it is.

Types are msgspec Structs deriving from `Body`, `StrictBody`, `Query` or `Answer` (below). msgspec
does not inherit `kw_only`: a subclass that adds required fields after optional ones says
`class NewApplication(ApplicationInput, kw_only=True)`.

Put `@declare` below the guards (`@citizen_required`, `@requires`): a caller who may not use the
route hears 401/403 before anything about their input.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import typing
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Annotated, Any, Generic, Literal, TypeVar

import msgspec

from models.errors import BadRequest, FieldError, ValidationFailed

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

JSON = "application/json"


class Body(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Base of request bodies: fields not declared are ignored (older clients may send more)."""


class StrictBody(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """Base of request bodies that refuse fields they do not know (settings an operator mistypes)."""


class Query(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Base of query-string types: values arrive as text and are coerced to the declared types."""


class Answer(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Base of answer types: a documented answer may carry fields added later (clients ignore them)."""


# A body field the domain checks itself: `Annotated[T, BY_DOMAIN]`.
#
# Some models check a whole body and report every fault at once, each with its own code
# (`invalid_slots`, `invalid_window_number`, `unknown_field`...), which the console shows field by
# field; msgspec would stop at the first fault and word it its own way. Such a field is declared with
# the type the domain accepts, constraints included (`Literal` for its enums, `msgspec.Meta` for
# patterns, lengths and ranges) and without a default where the domain requires it: /openapi.json
# documents exactly that, while `declare` validates the body with a twin type in which the marked
# fields take anything and may be missing, leaving the verdict to the domain.
BY_DOMAIN = msgspec.Meta(extra={"checked_by": "domain"})

# Texts operators give in one language or several: "text" or {"zh-CN": "...", "en": "..."}.
LocalizedText = str | dict[str, str]


def one_of(values: Iterable[str]) -> Any:
    """The type of a text that is one of `values` (a set of names the domain keeps as a constant)."""
    return Literal[tuple(values)]


@dataclasses.dataclass(frozen=True)
class Raw:
    """A body or answer that is not JSON of ours (an upload, a vendor's notification, a CSV export):
    documented by its media type and a JSON Schema, not validated here."""

    media_type: str
    schema: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    description: str = ""


@dataclasses.dataclass(frozen=True)
class Contract:
    body: Any = None            # a msgspec type, a Raw, or None (no body)
    query: type | None = None   # a Query subclass
    answer: Any = None          # a msgspec type, a Raw, or None (no content)
    status: int = 200
    errors: Mapping[int, str] = dataclasses.field(default_factory=dict)
    body_required: bool = True
    example: Any = None         # an example request body
    answer_example: Any = None
    also: tuple[Raw, ...] = ()  # other media the same answer may come in (a CSV export of a list)

    @property
    def checks_body(self) -> bool:
        return self.body is not None and not isinstance(self.body, Raw)

    @property
    def checks_answer(self) -> bool:
        return self.answer is not None and not isinstance(self.answer, Raw)


def declare(*, body: Any = None, query: type | None = None, answer: Any = None, status: int = 200,
            errors: Mapping[int, str] | None = None, body_required: bool = True, example: Any = None,
            answer_example: Any = None, also: tuple[Raw, ...] = ()) -> Callable[[F], F]:
    """Declare a handler method's request and answer (see the module docstring)."""
    contract = Contract(body=body, query=query, answer=answer, status=status, errors=dict(errors or {}),
                        body_required=body_required, example=example, answer_example=answer_example, also=also)
    # Build the decoders once, when the module is imported: a route's first request pays nothing more.
    if contract.checks_answer:
        msgspec.json.Decoder(contract.answer)
    validated_body = _as_validated(body) if contract.checks_body else None

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Awaitable[Any]:
            self.contract = contract
            if contract.query is not None:
                self.query = parse_query(contract.query, self.request.query_arguments)
            if contract.checks_body:
                raw = self.json_body()
                self.body = None if not raw and not contract.body_required else parse_body(validated_body, raw)
            return method(self, *args, **kwargs)
        wrapper.contract = contract  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]
    return decorate


def contract_of(method: Any) -> Contract | None:
    return getattr(method, "contract", None)


# ---- input ---------------------------------------------------------------------------------------
def _as_validated(body_type: Any) -> Any:
    """`body_type`, or where it has fields marked BY_DOMAIN, a twin in which those fields take
    anything and may be missing: the domain reports what is wrong with them."""
    if not (isinstance(body_type, type) and issubclass(body_type, msgspec.Struct)):
        return body_type
    hints = typing.get_type_hints(body_type, include_extras=True)
    by_domain = {name for name, hint in hints.items() if _by_domain(hint)}
    if not by_domain:
        return body_type
    fields: list[tuple[Any, ...]] = []
    for field in msgspec.structs.fields(body_type):
        if field.name in by_domain:
            fields.append((field.name, Any, msgspec.UNSET))  # absent stays absent, as in the body
        elif field.required:
            fields.append((field.name, hints[field.name]))
        elif field.default_factory is not msgspec.NODEFAULT:
            fields.append((field.name, hints[field.name], msgspec.field(default_factory=field.default_factory)))
        else:
            fields.append((field.name, hints[field.name], field.default))
    return msgspec.defstruct(body_type.__name__, fields, kw_only=True, omit_defaults=True,
                             forbid_unknown_fields=body_type.__struct_config__.forbid_unknown_fields)


def _by_domain(hint: Any) -> bool:
    return _marked(hint, BY_DOMAIN)


def _marked(hint: Any, marker: msgspec.Meta) -> bool:
    """Whether `marker` annotates `hint` or a type within it (`Annotated[T, marker] | None`)."""
    if typing.get_origin(hint) is Annotated and marker in typing.get_args(hint)[1:]:
        return True
    return any(_marked(arg, marker) for arg in typing.get_args(hint))


def parse_body(body_type: Any, data: dict[str, Any]) -> Any:
    """`data` (a parsed JSON object) as `body_type`; 422 with one field error for what does not fit."""
    try:
        return msgspec.convert(data, body_type, strict=True)
    except msgspec.ValidationError as exc:
        raise ValidationFailed(errors=[field_error(str(exc))]) from None


def parse_query(query_type: type, arguments: Mapping[str, list[bytes]]) -> Any:
    """The query string as `query_type`: the last value of each argument (list fields take them all),
    text coerced to the declared types; 400 naming the argument that does not fit."""
    list_fields, int_fields, flags = _list_fields(query_type), _int_fields(query_type), _flag_fields(query_type)
    values: dict[str, Any] = {}
    for name, raw in arguments.items():
        try:
            texts = [value.decode("utf-8") for value in raw]
        except UnicodeDecodeError:
            raise _query_error(FieldError(name, "encoding", "应为 UTF-8 文本", "must be UTF-8 text")) from None
        values[name] = texts if name in list_fields else texts[-1]
        if name in flags:
            word = values.pop(name).strip().lower()
            if word not in _UNSAID:
                values[name] = _flag(name, word)
        # A whole number in a query is ASCII digits, no more: msgspec alone would also read "1e2" and
        # "5.0", and str.isdigit() alone "¹" and "١".
        if name in int_fields:
            if not (values[name].isascii() and values[name].isdigit()):
                raise _query_error(FieldError(name, "type", "应为整数", "must be a whole number"))
            if len(values[name]) > 18:  # past int64 (and int() refuses past 4,300 digits)
                raise _query_error(FieldError(name, "out_of_range", "应为范围内的整数", "must be a whole number in range"))
            values[name] = int(values[name])
    try:
        return msgspec.convert(values, query_type, strict=False)
    except msgspec.ValidationError as exc:
        raise _query_error(field_error(str(exc))) from None


# Pagination is refused in one sentence naming its bounds, whatever was wrong with the number.
_PAGINATION = {"page": (1, 10_000), "page_size": (1, 100)}


def _query_error(error: FieldError) -> BadRequest:
    if error.field in _PAGINATION:
        low, high = _PAGINATION[error.field]
        return BadRequest("invalid_pagination", f"{error.field} 应为 {low} 到 {high} 之间的整数",
                          f"{error.field} must be a whole number from {low} to {high}", errors=[error])
    return BadRequest("invalid_query", f"查询参数 {error.field} {error.zh}", f"query argument {error.field} {error.en}",
                      errors=[error])


def _flag(name: str, word: str) -> bool:
    if word not in _FLAG_WORDS:
        raise _query_error(FieldError(name, "type", "应为 true 或 false", "must be true or false"))
    return _FLAG_WORDS[word]


@functools.cache
def _flag_fields(query_type: type) -> frozenset[str]:
    hints = typing.get_type_hints(query_type, include_extras=True)
    return frozenset(field.encode_name for field in msgspec.structs.fields(query_type)
                     if _marked(hints[field.name], _FLAG))


@functools.cache
def _list_fields(query_type: type) -> frozenset[str]:
    info = msgspec.inspect.type_info(query_type)
    return frozenset(field.encode_name for field in info.fields
                     if isinstance(_unwrap(field.type), (msgspec.inspect.ListType, msgspec.inspect.SetType)))


@functools.cache
def _int_fields(query_type: type) -> frozenset[str]:
    info = msgspec.inspect.type_info(query_type)
    return frozenset(field.encode_name for field in info.fields if isinstance(_unwrap(field.type), msgspec.inspect.IntType))


def _unwrap(info: Any) -> Any:
    if isinstance(info, msgspec.inspect.Metadata):
        return _unwrap(info.type)
    if isinstance(info, msgspec.inspect.UnionType):
        members = [t for t in info.types if not isinstance(t, msgspec.inspect.NoneType)]
        return _unwrap(members[0]) if len(members) == 1 else info
    return info


# msgspec says what it refused in one English sentence ("Expected `int` >= 1 - at `$.grade`");
# the service answers a field path, a stable code and a sentence in the caller's language.
_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_TYPE_NAMES = {"int": ("整数", "a whole number"), "str": ("文本", "text"), "bool": ("布尔值", "true or false"),
               "float": ("数字", "a number"), "array": ("数组", "an array"), "object": ("对象", "an object"),
               "null": ("空值", "null")}
_RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], tuple[str, str, str]]]] = [
    (re.compile(r"^Object missing required field `(?P<name>[^`]+)`"),
     lambda m: ("required", "为必填项", "is required")),
    (re.compile(r"^Object contains unknown field `(?P<name>[^`]+)`"),
     lambda m: ("unknown_field", "不是可接受的字段", "is not an accepted field")),
    (re.compile(r"^Expected `(?P<type>[a-z]+)` of length <= (?P<n>\d+)"),
     lambda m: ("too_long", f"长度不能超过 {m['n']}", f"must be at most {m['n']} long")),
    (re.compile(r"^Expected `(?P<type>[a-z]+)` of length >= (?P<n>\d+)"),
     lambda m: ("too_short", f"长度不能少于 {m['n']}", f"must be at least {m['n']} long")),
    (re.compile(r"^Expected `(?P<type>[a-z]+)` (?P<op>[<>]=?) (?P<n>-?[\d.e+]+)"),
     lambda m: ("out_of_range", f"应{_OPS[m['op']][0]} {m['n']}", f"must be {_OPS[m['op']][1]} {m['n']}")),
    (re.compile(r"^Integer value out of range"),
     lambda m: ("out_of_range", "应为范围内的整数", "must be a whole number in range")),
    (re.compile(r"^Expected `str` matching regex"),
     lambda m: ("pattern", "格式不正确", "is not in the expected format")),
    (re.compile(r"^Invalid enum value"),
     lambda m: ("enum", "不是可选的值", "is not one of the accepted values")),
    (re.compile(r"^Expected `(?P<type>[^`]+)`, got `(?P<got>[^`]+)`"),
     lambda m: ("type", f"应为{_type_zh(m['type'])}", f"must be {_type_en(m['type'])}")),
]
_OPS = {">=": ("不小于", "at least"), "<=": ("不大于", "at most"), ">": ("大于", "more than"), "<": ("小于", "less than")}


def _type_zh(names: str) -> str:
    return "或".join(_TYPE_NAMES.get(n.strip(), (n.strip(), ""))[0] for n in names.split("|"))


def _type_en(names: str) -> str:
    return " or ".join(_TYPE_NAMES.get(n.strip(), ("", n.strip()))[1] for n in names.split("|"))


def field_error(message: str) -> FieldError:
    """A FieldError for one msgspec validation message."""
    at = _AT.search(message)
    path = at["path"] if at else ""
    text = message[:at.start()] if at else message
    for pattern, describe in _RULES:
        match = pattern.match(text)
        if match:
            code, zh, en = describe(match)
            if "name" in match.groupdict():
                path = f"{path}.{match['name']}"
            return FieldError(_field_path(path), code, zh, en)
    return FieldError(_field_path(path), "invalid", "取值无效", "is not valid")


def _field_path(path: str) -> str:
    """`$`-relative msgspec paths (".applicant.name", "[0].key") in the service's style
    (`applicant.name`, `materials[0].key`)."""
    return path.removeprefix(".") or "(body)"


# ---- answers -------------------------------------------------------------------------------------
@functools.cache
def answer_decoder(answer_type: Any) -> msgspec.json.Decoder:
    return msgspec.json.Decoder(answer_type)


def answer_violation(contract: Contract, status: int, body: bytes) -> str | None:
    """Why the JSON `body` sent with `status` does not fit the declared answer, or None when it does."""
    if not contract.checks_answer or status != contract.status:
        return None
    try:
        answer_decoder(contract.answer).decode(body)
    except msgspec.ValidationError as exc:
        return str(exc)
    return None


# ---- shapes many routes share ----------------------------------------------------------------------
T = TypeVar("T")


class Page(Answer, Generic[T]):
    """One page of a list: `?page=1&page_size=20` (at most 100)."""

    items: list[T]
    total: int
    page: int
    page_size: int


PageNumber = Annotated[int, msgspec.Meta(ge=1, le=10_000, description="page number, from 1")]
PageSize = Annotated[int, msgspec.Meta(ge=1, le=100, description="items per page, at most 100")]


# A yes-or-no query argument: true/false, 1/0 or yes/no in any case; empty or `any` is as if it were
# not given (a filter's default, e.g. `Flag | None = None`, selects either). Anything else is 400.
_FLAG = msgspec.Meta(extra={"query": "flag"})
_FLAG_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
_UNSAID = ("", "any")
Flag = Annotated[bool, msgspec.Meta(description="true or false (also 1/0, yes/no); empty or `any`: either"), _FLAG]


class PageQuery(Query):
    page: PageNumber = 1
    page_size: PageSize = 20


# Times are ISO 8601 with their offset (Asia/Shanghai for display); days are ISO dates.
Timestamp = Annotated[str, msgspec.Meta(description="ISO 8601 time with offset, e.g. 2026-11-29T09:30:00+08:00")]
Day = Annotated[str, msgspec.Meta(description="ISO 8601 date, e.g. 2026-11-30")]
Fen = Annotated[int, msgspec.Meta(ge=0, description="money in fen (分)")]
