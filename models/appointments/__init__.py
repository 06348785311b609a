"""Appointments (预约办事): halls, windows, time-slot quotas, bookings, check-in and calling.

A hall (办事大厅) has an address, office hours, dates it is closed, and windows (窗口), each handling
some service codes. Its schedule gives per-time-slot quotas (号源): a default day, optional per-weekday
days, and single-day exceptions. Slots are bookable only on working days of the State Council
calendar (调休 weekends included, holidays excluded), not on the hall's closed dates, and only within
`settings.booking_horizon_days`.

Places are counted in one `slot_counters` document per (hall, date, slot), created lazily from the
schedule with `remaining = quota`. A booking takes a place with one conditional decrement
(`remaining > 0`), so any number of server processes never hand out more places than the quota; a
cancellation gives the place back with one increment. A citizen's one-booking-per-service-per-day rule
is a unique index on the appointment's `active_key`, which is removed when the booking is cancelled.

Times of day are local to the hall (Asia/Shanghai); stored instants are UTC.

Modules: `rules` (pure: a day's slots, slot instants, distances), `parsing` (operators' and citizens'
input), `views`, `lookups` (one hall or appointment, or 404), `halls` (operators' CRUD, in scope),
`schedules` (weekly quotas, exceptions, place counters), `slots` (what citizens may book), `booking`
(book, cancel, my appointments), `queue` (check-in and calling), `no_shows`, `reminders`, `demo`,
`indexes`.
"""

from models.appointments.booking import book, cancel, get_mine, list_mine, suspension_of
from models.appointments.demo import demo_halls, load_demo
from models.appointments.halls import (
    create_hall,
    delete_hall,
    hall_for_operator,
    list_halls,
    require_hall_placement,
    update_hall,
)
from models.appointments.indexes import ensure_indexes
from models.appointments.no_shows import apply_no_show_policy, mark_no_show, mark_no_shows
from models.appointments.parsing import (
    MAX_SLOTS_PER_DAY,
    MAX_WINDOWS,
    finite_number,
    parse_date,
    parse_hall,
    parse_schedule,
    parse_slots,
)
from models.appointments.queue import call_next, check_in, hall_appointments
from models.appointments.reminders import REMINDER_FROM_HOUR, enqueue_reminders
from models.appointments.rules import ACTIVE, STATUSES, day_plan, distance_m, quota_of, slot_id, slot_instant
from models.appointments.schedules import delete_exception, get_schedule, resync_counters, set_exception, set_schedule
from models.appointments.slots import hall_days, list_slots
from models.appointments.views import appointment_view, hall_view

__all__ = [
    "ACTIVE", "MAX_SLOTS_PER_DAY", "MAX_WINDOWS", "REMINDER_FROM_HOUR", "STATUSES", "apply_no_show_policy", "appointment_view", "book", "call_next",
    "cancel", "check_in", "create_hall", "day_plan", "delete_exception", "delete_hall", "demo_halls",
    "distance_m", "enqueue_reminders", "ensure_indexes", "finite_number", "get_mine", "get_schedule",
    "hall_appointments", "hall_days", "hall_for_operator", "hall_view", "list_halls", "list_mine", "list_slots",
    "load_demo", "mark_no_show", "mark_no_shows", "parse_date", "parse_hall", "parse_schedule", "parse_slots",
    "quota_of", "require_hall_placement", "resync_counters", "set_exception", "set_schedule", "slot_id",
    "slot_instant", "suspension_of", "update_hall",
]
