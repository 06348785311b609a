"""The state machine of an application: its states, the actions between them, who may take each,
and what each transition does to the promised time limit."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from models import deadlines
from models.errors import Conflict

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "draft": ("草稿", "Draft"),
    "submitted": ("已提交", "Submitted"),
    "accepted": ("已受理", "Accepted"),
    "supplement_requested": ("待补正材料", "Supplement requested"),
    "resubmitted": ("已补正", "Supplement received"),
    "approved": ("审批通过", "Approved"),
    "rejected": ("不予批准", "Rejected"),
    "completed": ("已办结", "Completed"),
    "withdrawn": ("已撤回", "Withdrawn"),
}

ACTION_LABELS: dict[str, tuple[str, str]] = {
    "save_draft": ("保存草稿", "Draft saved"),
    "submit": ("提交申请", "Submitted"),
    "accept": ("受理", "Accepted"),
    "request_supplement": ("一次性告知补正材料", "Supplement requested"),
    "supplement": ("补正材料", "Supplement provided"),
    "approve": ("审批通过", "Approved"),
    "reject": ("不予批准", "Rejected"),
    "complete": ("办结", "Completed"),
    "withdraw": ("撤回申请", "Withdrawn"),
}


@dataclasses.dataclass(frozen=True)
class Action:
    """One step of the state machine: the states it leaves, the state it enters, and who takes it."""

    sources: frozenset[str]
    target: str
    actor: str  # "citizen" | "operator"


ACTIONS: dict[str, Action] = {
    "submit": Action(frozenset({"draft"}), "submitted", "citizen"),
    "accept": Action(frozenset({"submitted"}), "accepted", "operator"),
    "request_supplement": Action(frozenset({"accepted", "resubmitted"}), "supplement_requested", "operator"),
    "supplement": Action(frozenset({"supplement_requested"}), "resubmitted", "citizen"),
    "approve": Action(frozenset({"accepted", "resubmitted"}), "approved", "operator"),
    "reject": Action(frozenset({"accepted", "resubmitted"}), "rejected", "operator"),
    "complete": Action(frozenset({"approved", "rejected"}), "completed", "operator"),
    "withdraw": Action(frozenset({"draft", "submitted", "accepted", "supplement_requested", "resubmitted"}),
                       "withdrawn", "citizen"),
}
OPERATOR_ACTIONS = tuple(name for name, action in ACTIONS.items() if action.actor == "operator")
# States in which the promised time limit runs (not paused, not decided).
RUNNING = ("accepted", "resubmitted")
OPEN = ("submitted", "accepted", "supplement_requested", "resubmitted")


def allowed_actions(status: str, actor: str) -> list[str]:
    """The actions `actor` ("citizen" or "operator") may take on an application in `status`."""
    return [name for name, rule in ACTIONS.items() if rule.actor == actor and status in rule.sources]


def invalid_transition(status: str, action: str) -> Conflict:
    """409 invalid_transition: `action` is not allowed in `status`."""
    zh, en = STATUS_LABELS.get(status, (status, status))
    act_zh, act_en = ACTION_LABELS.get(action, (action, action))
    return Conflict("invalid_transition", f"办件当前状态为「{zh}」，不能{act_zh}",
                    f"The application is {en.lower()}; it cannot be {act_en.lower()} now",
                    extra={"status": status, "action": action})


def deadline_change(application: dict[str, Any], target: str, now: datetime.datetime) -> dict[str, Any]:
    """The fields entering `target` sets: the promised time limit started, paused, resumed or finished, and its date."""
    record = application.get("deadline")
    if target == "accepted":
        return {"deadline": deadlines.started(application.get("promised_days"), now), "accepted_at": now}
    if target == "supplement_requested":
        return {"deadline": deadlines.paused(record, now)}
    if target == "resubmitted":
        return {"deadline": deadlines.resumed(record, now)}
    if target in ("approved", "rejected"):
        return {"deadline": deadlines.finished(record, now), "decided_at": now}
    if target == "withdrawn":
        return {"deadline": deadlines.finished(deadlines.paused(record, now), now) if record else None, "withdrawn_at": now}
    if target == "completed":
        return {"completed_at": now}
    if target == "submitted":
        return {"submitted_at": now}
    return {}
