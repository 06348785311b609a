"""Domain errors. Models raise these; the base handler renders them as problem+json.

Each error carries a stable machine `code` and its message in Chinese and English, so the
domain decides what went wrong and the HTTP layer only decides how to show it.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class FieldError:
    """One problem with one input field (`field` is a dotted path such as `form.applicant.name`)."""

    field: str
    code: str
    zh: str
    en: str

    def message(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh


class DomainError(Exception):
    """Base of every error a caller may see."""

    status = 400
    default_code = "bad_request"
    default_zh = "请求有误"
    default_en = "Bad request"

    def __init__(
        self,
        code: str | None = None,
        zh: str | None = None,
        en: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, object] | None = None,
    ) -> None:
        self.code = code or self.default_code
        self.zh = zh or self.default_zh
        self.en = en or self.default_en
        self.errors = list(errors or [])
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})
        super().__init__(f"{self.code}: {self.en}")

    def message(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh


class BadRequest(DomainError):
    pass


class ValidationFailed(DomainError):
    status = 422
    default_code = "validation_failed"
    default_zh = "提交的内容未通过校验"
    default_en = "The submitted data is not valid"


class Unauthorized(DomainError):
    status = 401
    default_code = "unauthorized"
    default_zh = "请先登录"
    default_en = "Authentication required"


class Forbidden(DomainError):
    status = 403
    default_code = "forbidden"
    default_zh = "无权进行此操作"
    default_en = "You are not allowed to do this"


class NotFound(DomainError):
    status = 404
    default_code = "not_found"
    default_zh = "未找到"
    default_en = "Not found"


class Conflict(DomainError):
    status = 409
    default_code = "conflict"
    default_zh = "与当前状态冲突"
    default_en = "Conflicts with the current state"


class PayloadTooLarge(DomainError):
    status = 413
    default_code = "payload_too_large"
    default_zh = "提交的内容过大"
    default_en = "Payload too large"


class UnsupportedMediaType(DomainError):
    status = 415
    default_code = "unsupported_media_type"
    default_zh = "不支持的文件类型"
    default_en = "Unsupported media type"


class RateLimited(DomainError):
    status = 429
    default_code = "rate_limited"
    default_zh = "请求过于频繁，请稍后再试"
    default_en = "Too many requests, please retry later"

    def __init__(self, code: str | None = None, zh: str | None = None, en: str | None = None,
                 *, retry_after: int = 60, **kwargs: object) -> None:
        headers = dict(kwargs.pop("headers", None) or {})  # type: ignore[arg-type]
        headers["Retry-After"] = str(max(1, int(retry_after)))
        super().__init__(code, zh, en, headers=headers, **kwargs)  # type: ignore[arg-type]


class Unavailable(DomainError):
    status = 503
    default_code = "unavailable"
    default_zh = "服务暂不可用，请稍后再试"
    default_en = "Service temporarily unavailable"

    def __init__(self, code: str | None = None, zh: str | None = None, en: str | None = None,
                 *, retry_after: int = 5, **kwargs: object) -> None:
        headers = dict(kwargs.pop("headers", None) or {})  # type: ignore[arg-type]
        headers["Retry-After"] = str(max(1, int(retry_after)))
        super().__init__(code, zh, en, headers=headers, **kwargs)  # type: ignore[arg-type]
