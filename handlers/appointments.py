"""Citizens' appointments: bookable slots, booking, my bookings, cancelling, checking in."""

from __future__ import annotations

from handlers.base import BaseHandler, citizen_required
from models import appointments, idempotency, ratelimit


class SlotsHandler(BaseHandler):
    """Bookable slots with remaining places for a service (and hall, and date)."""

    async def get(self) -> None:
        """Bookable slots: `?service_code=&hall_id=&date=`; without a date, bookable days in the horizon."""
        self.write_json(await appointments.list_slots(
            self.ctx, self.get_query_argument("service_code", ""), self.get_query_argument("hall_id", None),
            self.get_query_argument("date", None), self.locale_code))


class AppointmentsHandler(BaseHandler):
    """Book an appointment (Idempotency-Key accepted) or list mine."""

    @citizen_required
    async def post(self) -> None:
        """Book one place `{service_code, hall_id, date, slot_id}`; 409 `slot_full` when none is left."""
        citizen_id = self.principal.subject_id
        body = self.json_body()
        await ratelimit.enforce(self.ctx.redis, f"book:{citizen_id}", 20, 60, "booking_rate_limited",
                                "预约操作过于频繁，请稍后再试", "Too many booking attempts; retry later")

        async def create() -> tuple[int, object]:
            return 201, await appointments.book(self.ctx, citizen_id, body, self.locale_code)

        status, payload = await idempotency.run_once(
            self.ctx, f"citizen:{citizen_id}:appointments.create", self.request.headers.get("Idempotency-Key"),
            body, create)
        self.write_json(payload, status)

    @citizen_required
    async def get(self) -> None:
        """My appointments, newest slot first (`?status=`)."""
        page, page_size = self.page_args()
        self.write_json(await appointments.list_mine(
            self.ctx, self.principal.subject_id, page, page_size, self.get_query_argument("status", None),
            self.locale_code))


class AppointmentHandler(BaseHandler):
    """One of my appointments: read it or cancel it (up to the cut-off)."""

    path_params = ("id",)

    @citizen_required
    async def get(self, appointment_id: str) -> None:
        """One of my appointments."""
        self.write_json(await appointments.get_mine(self.ctx, self.principal.subject_id, appointment_id,
                                                    self.locale_code))

    @citizen_required
    async def delete(self, appointment_id: str) -> None:
        """Cancel my appointment; the place is bookable again at once."""
        self.write_json(await appointments.cancel(self.ctx, self.principal.subject_id, appointment_id, self.locale_code))


class CheckInHandler(BaseHandler):
    """Check in at the hall on the day (optionally with `{latitude, longitude}`) → queue number."""

    path_params = ("id",)

    @citizen_required
    async def post(self, appointment_id: str) -> None:
        self.write_json(await appointments.check_in(
            self.ctx, self.principal.subject_id, appointment_id, self.json_body(), self.locale_code))


routes = [
    (r"/api/v1/appointments/slots", SlotsHandler),
    (r"/api/v1/appointments", AppointmentsHandler),
    (r"/api/v1/appointments/([^/]+)", AppointmentHandler),
    (r"/api/v1/appointments/([^/]+)/check-in", CheckInHandler),
]
