"""Applications (办件): a citizen's request for one service item, from draft to result.

States: draft → submitted → accepted → (supplement_requested → resubmitted)* → approved | rejected
→ completed, and withdrawn by the citizen before a decision. `states.ACTIONS` is the whole state machine.

Every transition is one conditional `find_one_and_update` on (number, status, version) inside a
transaction that also inserts the timeline event (`application_events`, unique per (number, seq))
and the outbox record announcing it (dedupe key "application:<no>:<version>"): two operators acting
at once cannot both win, and a change is never recorded without its notification or vice versa.
Timeline events live in their own collection rather than an array pushed onto the application
(nx-27017 stores pushed sub-documents as JSON strings, and a separate collection needs no $push).

Modules, lowest first: `states` (the state machine), `items` (service items as read from the
catalogue), `forms` (schema errors in zh-CN and en), `materials` (attached files), `prefill` (values
offered again, and masking), `numbering` (numbers and query codes), `events` (the timeline), `views`,
`caches` (the read model and rendered bodies, in Redis and in each process), `store` (transactions and
transitions), `submission` (a citizen's input, checked), `queries` (reads and lists), and `actions`
(the citizens' and operators' steps). Code outside this package that changes an application must
call `forget`. The cache bounds (`caches.LOCAL_CACHE_SECONDS`, ...) are read where they are defined:
set them on `caches`, not here.
"""

from models.applications.actions import (
    NOTE_MAX,
    create,
    operator_action,
    recover_created,
    save_draft,
    submit_draft,
    supplement,
    withdraw,
)
from models.applications.caches import citizen_body, forget, read_model, renew_read_models
from models.applications.events import timeline, timeline_event
from models.applications.forms import form_errors
from models.applications.items import load_item, online_item
from models.applications.materials import has_file, required_materials
from models.applications.prefill import form_meanings, prefilled_form
from models.applications.queries import (
    get_for_citizen,
    get_for_operator,
    list_for_citizen,
    list_for_operators,
    operator_detail,
    progress,
)
from models.applications.states import ACTIONS, OPEN, OPERATOR_ACTIONS, RUNNING, STATUS_LABELS, allowed_actions
from models.applications.store import ensure_indexes, get_owned, new_application, transition
from models.applications.views import citizen_view, operator_view, public_view, summary_view

__all__ = [
    "ACTIONS", "NOTE_MAX", "OPEN", "OPERATOR_ACTIONS", "RUNNING", "STATUS_LABELS", "allowed_actions", "citizen_body", "citizen_view",
    "create", "recover_created", "ensure_indexes", "forget", "form_errors", "form_meanings", "get_for_citizen", "get_for_operator",
    "get_owned", "has_file", "list_for_citizen", "list_for_operators", "load_item",
    "new_application", "online_item", "operator_action", "operator_detail", "operator_view", "prefilled_form",
    "progress", "public_view", "read_model", "renew_read_models", "required_materials", "save_draft", "submit_draft",
    "summary_view", "supplement", "timeline", "timeline_event", "transition", "withdraw",
]
