"""Operators: halls, windows, schedules (quotas and single-day exceptions), calling numbers, no-shows.

Roles: `halls` configures halls and schedules; `hall_staff` works the windows on the day.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from handlers.base import BaseHandler, requires
from handlers.contract import BY_DOMAIN, Answer, Body, Day, LocalizedText, Page, PageQuery, PageSize, Timestamp, declare
from models import access, appointments

# ---- the contract ---------------------------------------------------------------------------------
# Hall bodies are checked by models.appointments, which names every bad field at once with its own
# code (`invalid_slots`, `invalid_window_number`, `overlapping_slots`...): documented here, decided there.
ClockTime = Annotated[str, msgspec.Meta(pattern="^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["08:30"])]
ZhRequired = msgspec.Meta(description="zh-CN required")


class SlotQuota(Body):
    start: ClockTime
    end: ClockTime
    quota: Annotated[int, msgspec.Meta(ge=0, le=10_000)]


Slots = Annotated[list[SlotQuota], msgspec.Meta(max_length=appointments.MAX_SLOTS_PER_DAY)]
IsoWeekday = Literal["1", "2", "3", "4", "5", "6", "7"]


class WindowSetting(Body):
    number: Annotated[str, msgspec.Meta(pattern="^[A-Za-z0-9]{1,8}$", description="unique in the hall")]
    service_codes: Annotated[list[str], msgspec.Meta(min_length=1, max_length=200)]
    queue_prefix: Annotated[str, msgspec.Meta(
        pattern="^[A-Z]{1,3}$", description="queue numbers' letters (default A, B, C... by position)")] = msgspec.UNSET
    name: LocalizedText = msgspec.UNSET


class GeoFence(Body):
    latitude: Annotated[float, msgspec.Meta(ge=-90, le=90)]
    longitude: Annotated[float, msgspec.Meta(ge=-180, le=180)]
    radius_m: Annotated[int, msgspec.Meta(ge=50, le=5000)] = 500


class WeeklySchedule(Body):
    """The hall's weekly quotas: `default` slots for every working day, `weekdays` overriding some."""

    default: Annotated[Slots, msgspec.Meta(description="every working day's slots"), BY_DOMAIN] = msgspec.UNSET
    weekdays: Annotated[dict[IsoWeekday, Slots], msgspec.Meta(
        description="own slots for some weekdays, by ISO number: 1 Monday .. 7 Sunday"), BY_DOMAIN] = msgspec.UNSET


class HallFields(Body):
    """A change of a hall: only what changes (`windows`, `closed_dates` and `schedule` are replaced whole)."""

    name: Annotated[LocalizedText, ZhRequired, BY_DOMAIN] = msgspec.UNSET
    address: Annotated[LocalizedText, ZhRequired, BY_DOMAIN] = msgspec.UNSET
    hours: Annotated[LocalizedText, msgspec.Meta(description="opening hours, as shown to citizens"),
                     BY_DOMAIN] = msgspec.UNSET
    phone: Annotated[Annotated[str, msgspec.Meta(pattern="^[0-9+\\- ]{3,30}$")] | None, BY_DOMAIN] = msgspec.UNSET
    region_code: Annotated[Annotated[str, msgspec.Meta(pattern="^[0-9]{6}$")] | None, BY_DOMAIN] = msgspec.UNSET
    windows: Annotated[list[WindowSetting], msgspec.Meta(min_length=1, max_length=appointments.MAX_WINDOWS),
                       BY_DOMAIN] = msgspec.UNSET
    closed_dates: Annotated[list[Day], msgspec.Meta(
        max_length=1000, description="dates the hall is closed besides public holidays"), BY_DOMAIN] = msgspec.UNSET
    geo: Annotated[GeoFence | None, msgspec.Meta(description="where check-in is allowed (none: anywhere)"),
                   BY_DOMAIN] = msgspec.UNSET
    active: Annotated[bool, msgspec.Meta(description="an inactive hall takes no bookings"), BY_DOMAIN] = msgspec.UNSET
    schedule: Annotated[WeeklySchedule, msgspec.Meta(description="weekly slot quotas"), BY_DOMAIN] = msgspec.UNSET


class NewHall(HallFields, kw_only=True):
    """A new hall: `name`, `address` and `windows` are required."""

    name: Annotated[LocalizedText, ZhRequired, BY_DOMAIN]
    address: Annotated[LocalizedText, ZhRequired, BY_DOMAIN]
    windows: Annotated[list[WindowSetting], msgspec.Meta(min_length=1, max_length=appointments.MAX_WINDOWS),
                       BY_DOMAIN]


class DaySchedule(Body):
    """One date's own slots (an empty list closes the hall that day) and a note for citizens."""

    slots: Annotated[Slots, BY_DOMAIN] = msgspec.UNSET
    note: Annotated[LocalizedText, BY_DOMAIN] = msgspec.UNSET


class HallSlot(Answer):
    id: Annotated[str, msgspec.Meta(description="the start time as HHMM, e.g. 0830")]
    start: str
    end: str
    quota: int


class HallWeek(Answer):
    default: list[HallSlot]
    weekdays: dict[str, list[HallSlot]]


class HallWindow(Answer, kw_only=True):
    number: str
    service_codes: list[str]
    queue_prefix: str
    name: dict[str, str] | None = None


class HallGeo(Answer):
    latitude: float
    longitude: float
    radius_m: int


class OverbookedSlot(Answer):
    """A slot with more bookings than its new quota: those bookings stand."""

    date: Day
    slot_id: str
    capacity: int
    booked: int


class HallAdminView(Answer, kw_only=True):
    """A hall as operators configure it (texts in every locale)."""

    id: str
    name: dict[str, str]
    address: dict[str, str]
    hours: dict[str, str] | None
    phone: str | None
    region_code: str | None
    windows: list[HallWindow]
    service_codes: list[str]
    closed_dates: list[Day]
    geo: HallGeo | None
    active: bool
    schedule: HallWeek
    created_at: Timestamp
    updated_at: Timestamp
    overbooked: Annotated[list[OverbookedSlot], msgspec.Meta(
        description="after a change of closed dates or schedule")] = []


class ScheduleException(Answer):
    date: Day
    slots: list[HallSlot]
    note: dict[str, str] | None


class HallSchedule(Answer, kw_only=True):
    """A hall's weekly quotas, closed dates and upcoming single-day exceptions."""

    hall_id: str
    default: list[HallSlot]
    weekdays: dict[str, list[HallSlot]]
    closed_dates: list[Day]
    exceptions: list[ScheduleException]
    overbooked: Annotated[list[OverbookedSlot], msgspec.Meta(description="after replacing the quotas")] = []


class HallDaySchedule(Answer):
    """The single-day exception as saved."""

    hall_id: str
    date: Day
    slots: list[HallSlot]
    note: dict[str, str] | None
    overbooked: list[OverbookedSlot]


class HallDayRestored(Answer):
    """The exception is gone: the weekly schedule applies again that day."""

    hall_id: str
    date: Day
    overbooked: list[OverbookedSlot]


class HallAppointmentsQuery(PageQuery):
    page_size: PageSize = 100
    date: Annotated[str | None, msgspec.Meta(description="YYYY-MM-DD, default today")] = None
    status: Annotated[str | None, msgspec.Meta(
        description="booked, checked_in, called, cancelled or no_show")] = None


class HallAppointment(Answer, kw_only=True):
    """An appointment at a hall, as the hall's staff see it."""

    id: str
    service_code: str
    service_name: str
    hall_id: str
    hall_name: str
    hall_address: str
    date: Day
    slot_id: str
    start: str
    end: str
    starts_at: Timestamp
    status: str
    cancellable_until: Timestamp
    check_in_from: Timestamp
    check_in_until: Timestamp
    created_at: Timestamp
    window: str | None = None
    queue_number: str | None = None
    checked_in_at: Timestamp | None = None
    called_at: Timestamp | None = None
    cancelled_at: Timestamp | None = None
    no_show_at: Timestamp | None = None


class CalledNumber(Answer):
    """The number called at a window, and how many still wait there."""

    window: str
    queue_number: str
    waiting: int
    appointment: HallAppointment


NEW_HALL_EXAMPLE = {
    "name": {"zh-CN": "示范市民中心", "en": "Shifan Citizen Service Center"}, "address": "示范市东湖区市民大道88号",
    "hours": "工作日 9:00-12:00、13:30-17:00", "phone": "0571-12345", "region_code": "330102",
    "windows": [{"number": "1", "service_codes": ["GA-0001", "GA-0003"], "name": "公安综合窗口"}],
    "schedule": {"default": [{"start": "09:00", "end": "09:30", "quota": 4}, {"start": "09:30", "end": "10:00", "quota": 4}],
                 "weekdays": {"5": [{"start": "13:30", "end": "14:00", "quota": 8}]}},
}


class HallsHandler(BaseHandler):
    """List halls or create one (name, address, hours, windows and their services)."""

    @requires(access.HALLS_READ)
    @declare(query=PageQuery, answer=Page[HallAdminView])
    async def get(self) -> None:
        """All halls."""
        self.write_json(await appointments.list_halls(self.ctx, self.scope, self.query.page, self.query.page_size))

    @requires(access.HALLS_MANAGE)
    @declare(body=NewHall, answer=HallAdminView, status=201, example=NEW_HALL_EXAMPLE)
    async def post(self) -> None:
        """Create a hall."""
        body = self.json_body()
        appointments.require_hall_placement(self.scope, body)
        self.write_json(await appointments.create_hall(self.ctx, body), 201)


class HallHandler(BaseHandler):
    """One hall: read, change (windows and closed dates are replaced whole) or delete."""

    path_params = ("id",)

    @requires(access.HALLS_READ)
    @declare(answer=HallAdminView)
    async def get(self, hall_id: str) -> None:
        """One hall."""
        self.write_json(appointments.hall_view(await appointments.hall_for_operator(self.ctx, self.scope, hall_id)))

    @requires(access.HALLS_MANAGE)
    @declare(body=HallFields, answer=HallAdminView,
             example={"windows": [{"number": "9", "service_codes": ["MZ-0001"]}], "closed_dates": ["2026-12-31"]})
    async def patch(self, hall_id: str) -> None:
        """Change some of a hall's fields."""
        body = self.json_body()
        appointments.require_hall_placement(self.scope, body, await appointments.hall_for_operator(self.ctx, self.scope, hall_id))
        self.write_json(await appointments.update_hall(self.ctx, hall_id, body))

    @requires(access.HALLS_MANAGE)
    @declare(answer=None, status=204, errors={409: "The hall still has upcoming bookings (deactivate it instead)"})
    async def delete(self, hall_id: str) -> None:
        """Delete a hall without upcoming bookings."""
        await appointments.hall_for_operator(self.ctx, self.scope, hall_id)
        await appointments.delete_hall(self.ctx, hall_id)
        self.set_status(204)
        self.finish()


class HallScheduleHandler(BaseHandler):
    """A hall's weekly time-slot quotas, with its closed dates and upcoming single-day exceptions."""

    path_params = ("id",)

    @requires(access.HALLS_READ)
    @declare(answer=HallSchedule)
    async def get(self, hall_id: str) -> None:
        """The hall's schedule."""
        await appointments.hall_for_operator(self.ctx, self.scope, hall_id)
        self.write_json(await appointments.get_schedule(self.ctx, hall_id))

    @requires(access.HALLS_MANAGE)
    @declare(body=WeeklySchedule, answer=HallSchedule,
             example={"default": [{"start": "08:30", "end": "09:00", "quota": 6}],
                      "weekdays": {"5": [{"start": "13:30", "end": "14:00", "quota": 10}]}})
    async def put(self, hall_id: str) -> None:
        """Replace the weekly quotas `{default: [slots], weekdays: {"1".."7": [slots]}}`."""
        await appointments.hall_for_operator(self.ctx, self.scope, hall_id)
        self.write_json(await appointments.set_schedule(self.ctx, hall_id, self.json_body()))


class HallScheduleExceptionHandler(BaseHandler):
    """One date's own slots (`{slots, note}`; empty slots close the hall that day), or remove it."""

    path_params = ("id", "date")

    @requires(access.HALLS_MANAGE)
    @declare(body=DaySchedule, answer=HallDaySchedule,
             example={"slots": [{"start": "10:00", "end": "11:00", "quota": 3}], "note": "系统升级，仅上午开放"})
    async def put(self, hall_id: str, date: str) -> None:
        """Set the single-day exception."""
        await appointments.hall_for_operator(self.ctx, self.scope, hall_id)
        self.write_json(await appointments.set_exception(self.ctx, hall_id, date, self.json_body()))

    @requires(access.HALLS_MANAGE)
    @declare(answer=HallDayRestored)
    async def delete(self, hall_id: str, date: str) -> None:
        """Remove the exception: the weekly schedule applies again."""
        await appointments.hall_for_operator(self.ctx, self.scope, hall_id)
        self.write_json(await appointments.delete_exception(self.ctx, hall_id, date))


class HallAppointmentsHandler(BaseHandler):
    """One day's appointments at a hall (`?date=` default today, `&status=`)."""

    path_params = ("id",)

    @requires(access.HALLS_QUEUE)
    @declare(query=HallAppointmentsQuery, answer=Page[HallAppointment], errors={422: "An invalid date or status"})
    async def get(self, hall_id: str) -> None:
        query = self.query
        await appointments.hall_for_operator(self.ctx, self.scope, hall_id)
        self.write_json(await appointments.hall_appointments(
            self.ctx, hall_id, query.date, query.status, query.page, query.page_size, self.locale_code))


class CallNextHandler(BaseHandler):
    """Call the next checked-in number at one window of a hall."""

    path_params = ("id", "window")

    @requires(access.HALLS_QUEUE)
    @declare(answer=CalledNumber)
    async def post(self, hall_id: str, window: str) -> None:
        await appointments.hall_for_operator(self.ctx, self.scope, hall_id)
        self.write_json(await appointments.call_next(
            self.ctx, hall_id, window, self.principal.subject_id, self.locale_code))


class NoShowHandler(BaseHandler):
    """Record a booked citizen who never checked in as a no-show (counts towards suspension)."""

    path_params = ("id",)

    @requires(access.HALLS_QUEUE)
    @declare(answer=HallAppointment,
             errors={409: "Not booked any more (`appointment_not_markable`), or check-in is still open"})
    async def post(self, appointment_id: str) -> None:
        self.write_json(await appointments.mark_no_show(
            self.ctx, self.scope, appointment_id, self.principal.subject_id, self.locale_code))


routes = [
    (r"/admin/v1/halls", HallsHandler),
    (r"/admin/v1/halls/([^/]+)", HallHandler),
    (r"/admin/v1/halls/([^/]+)/schedules", HallScheduleHandler),
    (r"/admin/v1/halls/([^/]+)/schedules/([^/]+)", HallScheduleExceptionHandler),
    (r"/admin/v1/halls/([^/]+)/appointments", HallAppointmentsHandler),
    (r"/admin/v1/halls/([^/]+)/windows/([^/]+)/call-next", CallNextHandler),
    (r"/admin/v1/appointments/([^/]+)/no-show", NoShowHandler),
]
