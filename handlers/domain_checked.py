"""Body fields the domain checks itself: documented in /openapi.json, not enforced by the contract.

Some models check a whole body and report every fault at once, each with its own code
(`invalid_slots`, `invalid_window_number`, `unknown_field`...), which the console shows field by field.
A contract type would refuse the first fault alone, in its own words; such fields are declared with
`checked_by_domain(schema)`: the schema says what the domain accepts, the domain still decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import msgspec

# Texts operators give in one language or several: "text" or {"zh-CN": "...", "en": "..."}.
LOCALIZED_TEXT: Mapping[str, Any] = {"anyOf": [{"type": "string"},
                                               {"type": "object", "additionalProperties": {"type": "string"}}]}


def checked_by_domain(schema: Mapping[str, Any], description: str | None = None) -> Any:
    """A field of any JSON value, documented as `schema` (the rules the domain applies to it)."""
    return Annotated[Any, msgspec.Meta(description=description, extra_json_schema=dict(schema))]
