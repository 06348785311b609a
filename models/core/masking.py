"""Masking (脱敏), written once: how an ID number, a phone number or any identifier is shown safely.

The first three and the last four characters stay, the rest is starred; a value too short to keep
anything back is starred whole. Citizens recognise their own numbers by these ends, and a masked
value sent back in a form is matched against the real ones by masking those the same way.
"""

from __future__ import annotations


def mask(value: str) -> str:
    """"110101199003071234" → "110***********1234": the first 3 and last 4 characters, the rest starred."""
    if len(value) < 8:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_phone(phone: str) -> str:
    """"13812341234" → "138****1234" (a leading "+" is dropped first)."""
    return mask(phone.lstrip("+"))


def mask_name(name: str) -> str:
    """"张三丰" → "张**", "Li Lei" → "L*****": a person's name shown by its first character only."""
    name = name.strip()
    return name[:1] + "*" * (len(name) - 1) if name else ""
