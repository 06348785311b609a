"""Consultations (咨询) and complaints (投诉): questions from citizens, answered by the department,
and the public question-and-answer library (问答库) that answers them before they are asked.

Modules, each named after what it holds:
- `questions`: asking, following up, the answer deadline in working days, the views;
- `answers`: the department's lists, replies, closing, first-answer time statistics;
- `library`: answered consultations made public (and entries written directly), edits, unpublishing;
- `privacy`: stripping phone and ID numbers, names and addresses from what becomes public;
- `suggestions`: the published answers most relevant to an item and a question being typed;
- `deflection`: an answer opened and the question then not sent, for the scorecard;
- `demo`: the demo library (data/demo_qa.toml).
Callers import from `models.consultations`.
"""

from pymongo.asynchronous.database import AsyncDatabase

from models.access import OperatorScope
from models.consultations import deflection, library, privacy, suggestions
from models.consultations.answers import (
    answer_time_stats,
    close,
    for_operator,
    get_for_operator,
    list_for_operator,
    percentile,
    reply,
)
from models.consultations.demo import load_demo, read_demo_qa
from models.consultations.questions import (
    CONTENT_MAX,
    KINDS,
    MAX_ATTACHMENTS,
    MAX_TURNS,
    NOTE_MAX,
    OFFICE_HOURS,
    RATE_LIMITS,
    STATUSES,
    SUBJECT_MAX,
    DeadlineRule,
    answer_deadline,
    check_attachments,
    citizen_view,
    create,
    deadline_rules,
    follow_up,
    get_closed_for_rating,
    get_own,
    list_own,
    mark_rated,
    messages_of,
    operator_view,
    parse_id,
)


async def ensure_indexes(db: AsyncDatabase) -> None:
    await db.consultations.create_index([("citizen_id", 1), ("created_at", -1)])
    await db.consultations.create_index([("department", 1), ("status", 1), ("due_at", 1)])
    await db.consultations.create_index([("status", 1), ("due_at", 1)])
    await db.consultation_messages.create_index([("consultation_id", 1), ("seq", 1)], unique=True)
    await library.ensure_indexes(db)
    await deflection.ensure_indexes(db)


__all__ = [
    "CONTENT_MAX", "KINDS", "MAX_ATTACHMENTS", "MAX_TURNS", "NOTE_MAX", "OFFICE_HOURS", "RATE_LIMITS", "STATUSES",
    "SUBJECT_MAX", "DeadlineRule", "OperatorScope", "answer_deadline", "answer_time_stats", "check_attachments",
    "citizen_view", "close", "create", "deadline_rules", "deflection", "ensure_indexes", "follow_up", "for_operator",
    "get_closed_for_rating", "get_for_operator", "get_own", "library", "list_for_operator", "list_own", "load_demo",
    "mark_rated", "messages_of", "operator_view", "parse_id", "percentile", "privacy", "read_demo_qa", "reply",
    "suggestions",
]
