"""居民身份证号码 (resident ID number, GB 11643-1999): validation, check digit and masking.

Pure functions, no I/O. An 18-character number is: 6 digits of the issuing region, 8 digits of the
birth date (YYYYMMDD), 3 digits of sequence (odd for men, even for women) and one check character
computed with ISO 7064 MOD 11-2 over the first 17 digits.

One number has one written form here: input is normalised (NFKC, so fullwidth 全角 digits and Ｘ
become ASCII; then decimal digits of any one other script, e.g. Arabic-Indic, become ASCII; x becomes
X) before anything is checked, indexed or stored. Anything that is not then 17 ASCII digits and a
digit or X is refused: a number written in other digits must not become a second identity.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import unicodedata

from models.core.masking import mask as mask_id_number  # region prefix and last four only
from models.errors import FieldError, ValidationFailed

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_SHAPE = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)
_LONGEST_INPUT = 64  # characters before normalisation: 18, plus spaces between groups
# First two digits: provinces, autonomous regions, municipalities, HK/Macao/Taiwan residence permits.
_PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
    "71", "81", "82", "83", "91",
})
EARLIEST_BIRTH = datetime.date(1900, 1, 1)


@dataclasses.dataclass(frozen=True)
class IdNumber:
    """A validated ID number and what it encodes."""

    value: str  # normalised: 18 characters, check character upper-case
    region_code: str
    birth_date: datetime.date
    gender: str  # "male" | "female"

    def __repr__(self) -> str:  # never print the full number by accident
        return f"IdNumber({mask_id_number(self.value)})"


def check_character(first17: str) -> str:
    """The MOD 11-2 check character for the first 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def normalise(raw: str) -> str:
    """The ASCII form of a number however it was typed; what cannot be made ASCII is left as it is.

    NFKC first (fullwidth digits, Ｘ, the ideographic space), then every remaining decimal digit to
    its ASCII digit, as long as all of them come from ONE script: no keyboard mixes, say,
    Arabic-Indic and Devanagari digits, so such a string stays non-ASCII and fails the shape check.
    """
    text = unicodedata.normalize("NFKC", raw).strip().replace(" ", "").upper()
    foreign = {ch: digit for ch in set(text) if not ch.isascii() and (digit := unicodedata.decimal(ch, None)) is not None}
    if len({ord(ch) - digit for ch, digit in foreign.items()}) != 1:  # none, or several scripts' zeros
        return text
    return "".join(str(foreign[ch]) if ch in foreign else ch for ch in text)


def parse_id_number(raw: str, today: datetime.date | None = None, field: str = "id_number") -> IdNumber:
    """Validate an ID number; raise ValidationFailed with one field error naming what is wrong."""
    value = normalise(raw) if isinstance(raw, str) and len(raw) <= _LONGEST_INPUT else ""

    def fail(code: str, zh: str, en: str) -> ValidationFailed:
        return ValidationFailed(errors=[FieldError(field, code, zh, en)])

    if not _SHAPE.fullmatch(value):
        raise fail("id_number_format", "身份证号码应为 18 位，前 17 位为数字，最后一位为数字或 X",
                   "An ID number has 18 characters: 17 digits, then a digit or X")
    if value[:2] not in _PROVINCES:
        raise fail("id_number_region", "身份证号码的地区码无效", "The ID number's region code is not valid")
    try:
        birth = datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        birth = None
    today = today or datetime.date.today()
    if birth is None or not EARLIEST_BIRTH <= birth <= today:
        raise fail("id_number_birth_date", "身份证号码中的出生日期无效", "The ID number's birth date is not valid")
    if check_character(value[:17]) != value[17]:
        raise fail("id_number_check_digit", "身份证号码校验位不正确，请核对后重新输入",
                   "The ID number's check digit is wrong; please check the number")
    return IdNumber(value, value[:6], birth, "male" if int(value[16]) % 2 else "female")


# A real name as bound to an ID number: 2-30 Chinese characters or letters (with · or . between).
NAME = re.compile(r"^[\u3400-\u9fffA-Za-z][\u3400-\u9fffA-Za-z·•. ]{0,28}[\u3400-\u9fffA-Za-z]$")


def parse_person(name: object, id_number: object, today: datetime.date) -> tuple[str, IdNumber]:
    """(the trimmed name, the parsed number) of a real name; ValidationFailed naming every problem."""
    errors: list[FieldError] = []
    clean_name = name.strip() if isinstance(name, str) else ""
    if not NAME.match(clean_name):
        errors.append(FieldError("name", "invalid_name", "姓名应为 2-30 个汉字或字母",
                                 "name must be 2-30 Chinese characters or letters"))
    parsed = None
    try:
        parsed = parse_id_number(id_number if isinstance(id_number, str) else "", today=today)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if errors or parsed is None:
        raise ValidationFailed(errors=errors)
    return clean_name, parsed


def is_valid_id_number(raw: str, today: datetime.date | None = None) -> bool:
    try:
        parse_id_number(raw, today)
    except ValidationFailed:
        return False
    return True
