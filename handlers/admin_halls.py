"""Operators: halls, windows, schedules (quotas and single-day exceptions), calling numbers, no-shows.

Roles: `halls` configures halls and schedules; `hall_staff` works the windows on the day.
"""

from __future__ import annotations

from handlers.base import BaseHandler, requires
from models import access, appointments


class HallsHandler(BaseHandler):
    """List halls or create one (name, address, hours, windows and their services)."""

    @requires(access.HALLS_READ)
    async def get(self) -> None:
        """All halls."""
        page, page_size = self.page_args()
        self.write_json(await appointments.list_halls(self.ctx, self.scope, page, page_size))

    @requires(access.HALLS_MANAGE)
    async def post(self) -> None:
        """Create a hall."""
        body = self.json_body()
        appointments.require_hall_placement(self.scope, body)
        self.write_json(await appointments.create_hall(self.ctx, body), 201)


class HallHandler(BaseHandler):
    """One hall: read, change (windows and closed dates are replaced whole) or delete."""

    path_params = ("id",)

    @requires(access.HALLS_READ)
    async def get(self, hall_id: str) -> None:
        """One hall."""
        self.write_json(appointments.hall_view(await appointments.hall_for_operator(self.ctx, self.scope, hall_id)))

    @requires(access.HALLS_MANAGE)
    async def patch(self, hall_id: str) -> None:
        """Change some of a hall's fields."""
        body = self.json_body()
        appointments.require_hall_placement(self.scope, body, await appointments.hall_for_operator(self.ctx, self.scope, hall_id))
        self.write_json(await appointments.update_hall(self.ctx, hall_id, body))

    @requires(access.HALLS_MANAGE)
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
    async def get(self, hall_id: str) -> None:
        """The hall's schedule."""
        await appointments.hall_for_operator(self.ctx, self.scope, hall_id)
        self.write_json(await appointments.get_schedule(self.ctx, hall_id))

    @requires(access.HALLS_MANAGE)
    async def put(self, hall_id: str) -> None:
        """Replace the weekly quotas `{default: [slots], weekdays: {"1".."7": [slots]}}`."""
        await appointments.hall_for_operator(self.ctx, self.scope, hall_id)
        self.write_json(await appointments.set_schedule(self.ctx, hall_id, self.json_body()))


class HallScheduleExceptionHandler(BaseHandler):
    """One date's own slots (`{slots, note}`; empty slots close the hall that day), or remove it."""

    path_params = ("id", "date")

    @requires(access.HALLS_MANAGE)
    async def put(self, hall_id: str, date: str) -> None:
        """Set the single-day exception."""
        await appointments.hall_for_operator(self.ctx, self.scope, hall_id)
        self.write_json(await appointments.set_exception(self.ctx, hall_id, date, self.json_body()))

    @requires(access.HALLS_MANAGE)
    async def delete(self, hall_id: str, date: str) -> None:
        """Remove the exception: the weekly schedule applies again."""
        await appointments.hall_for_operator(self.ctx, self.scope, hall_id)
        self.write_json(await appointments.delete_exception(self.ctx, hall_id, date))


class HallAppointmentsHandler(BaseHandler):
    """One day's appointments at a hall (`?date=` default today, `&status=`)."""

    path_params = ("id",)

    @requires(access.HALLS_QUEUE)
    async def get(self, hall_id: str) -> None:
        page, page_size = self.page_args(default_size=100)
        await appointments.hall_for_operator(self.ctx, self.scope, hall_id)
        self.write_json(await appointments.hall_appointments(
            self.ctx, hall_id, self.get_query_argument("date", None), self.get_query_argument("status", None),
            page, page_size, self.locale_code))


class CallNextHandler(BaseHandler):
    """Call the next checked-in number at one window of a hall."""

    path_params = ("id", "window")

    @requires(access.HALLS_QUEUE)
    async def post(self, hall_id: str, window: str) -> None:
        await appointments.hall_for_operator(self.ctx, self.scope, hall_id)
        self.write_json(await appointments.call_next(
            self.ctx, hall_id, window, self.principal.subject_id, self.locale_code))


class NoShowHandler(BaseHandler):
    """Record a booked citizen who never checked in as a no-show (counts towards suspension)."""

    path_params = ("id",)

    @requires(access.HALLS_QUEUE)
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
