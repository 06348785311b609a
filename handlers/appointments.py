"""Citizens' appointments: bookable slots, booking, my bookings, cancelling, checking in."""

from __future__ import annotations

from typing import Annotated

import msgspec

from handlers.base import BaseHandler, citizen_required
from handlers.contract import BY_DOMAIN, Answer, Body, Day, Page, PageQuery, Query, Timestamp, declare
from models import appointments, ratelimit

# ---- the contract ---------------------------------------------------------------------------------
Clock = Annotated[str, msgspec.Meta(description="local time of day in the hall, HH:MM")]
ClosedReason = Annotated[str | None, msgspec.Meta(
    description="why nothing is offered: not_working_day, hall_closed, no_slots or outside_booking_horizon")]


class SlotsQuery(Query):
    service_code: Annotated[str, msgspec.Meta(description="the service item to book (required)")] = ""
    hall_id: Annotated[str | None, msgspec.Meta(description="only this hall")] = None
    date: Annotated[str | None, msgspec.Meta(
        description="YYYY-MM-DD: that day's slots; without it, each hall's bookable days in the horizon")] = None


class BookableDay(Answer):
    date: Day
    bookable: bool
    remaining: Annotated[int, msgspec.Meta(description="places left in the slots not yet started")]
    closed_reason: ClosedReason


class Slot(Answer):
    slot_id: str
    start: Clock
    end: Clock
    quota: int
    remaining: int
    bookable: bool


class HallOffer(Answer):
    """A hall handling the service: its days (no `date` asked) or that day's slots."""

    hall_id: str
    name: str
    address: str
    hours: str
    phone: str | None
    days: list[BookableDay] | None = None
    date: Day | None = None
    bookable: bool | None = None
    closed_reason: ClosedReason = None
    slots: list[Slot] | None = None


class BookableSlots(Answer):
    """Halls offering a service with places left: per day over the horizon (`from`..`to`), or one `date`."""

    service_code: str
    halls: list[HallOffer]
    from_: Day | None = msgspec.field(default=None, name="from")
    to: Day | None = None
    date: Day | None = None


class NewBooking(Body):
    service_code: str
    hall_id: str
    date: Annotated[str, msgspec.Meta(description="YYYY-MM-DD, a working day within the booking horizon")]
    slot_id: Annotated[str, msgspec.Meta(description="from the slots list, e.g. 0900")]


class AppointmentView(Answer):
    """One appointment: where and when, until when it can be cancelled, the check-in window, its queue number."""

    id: str
    service_code: str
    service_name: str
    hall_id: str
    hall_name: str
    hall_address: str
    date: Day
    slot_id: str
    start: Clock
    end: Clock
    starts_at: Timestamp
    status: Annotated[str, msgspec.Meta(description="booked, checked_in, called, cancelled or no_show")]
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


class AppointmentsQuery(PageQuery):
    status: Annotated[str | None, msgspec.Meta(description="booked, checked_in, called, cancelled or no_show")] = None


Degrees = msgspec.Meta(description="degrees")


class CheckIn(Body):
    """Where the citizen is, when the hall checks in only on site."""

    # The appointment rules name a coordinate that is no finite number in range (`invalid_location`).
    latitude: Annotated[Annotated[float, msgspec.Meta(ge=-90, le=90)] | None, Degrees, BY_DOMAIN] = None
    longitude: Annotated[Annotated[float, msgspec.Meta(ge=-180, le=180)] | None, Degrees, BY_DOMAIN] = None


class SlotsHandler(BaseHandler):
    """Bookable slots with remaining places for a service (and hall, and date)."""

    @declare(query=SlotsQuery, answer=BookableSlots,
             errors={404: "No such published item, or no such hall handling it",
                     422: "service_code missing, or date not a YYYY-MM-DD date"})
    async def get(self) -> None:
        """Bookable slots: `?service_code=&hall_id=&date=`; without a date, bookable days in the horizon."""
        self.write_json(await appointments.list_slots(
            self.ctx, self.query.service_code, self.query.hall_id, self.query.date, self.locale_code))


class AppointmentsHandler(BaseHandler):
    """Book an appointment (Idempotency-Key accepted) or list mine."""

    @citizen_required
    @declare(body=NewBooking, answer=AppointmentView, status=201,
             errors={403: "Online booking is suspended after repeated no-shows", 404: "No such hall or service",
                     409: "The slot is full or started, a booking for this service that day exists, or an "
                          "Idempotency-Key reused with another body",
                     429: "Too many booking attempts"},
             example={"service_code": "GA-0001", "hall_id": "64f0c2a1e13b5a0a1c2d3e4f", "date": "2026-12-01",
                      "slot_id": "0900"})
    async def post(self) -> None:
        """Book one place `{service_code, hall_id, date, slot_id}`; 409 `slot_full` when none is left."""
        citizen_id = self.principal.subject_id
        body = self.json_body()
        await ratelimit.enforce(self.ctx.redis, f"book:{citizen_id}", 20, 60, "booking_rate_limited",
                                "预约操作过于频繁，请稍后再试", "Too many booking attempts; retry later")
        await self.write_once("appointments.create", body,
                              lambda: appointments.book(self.ctx, citizen_id, body, self.locale_code), status=201)

    @citizen_required
    @declare(query=AppointmentsQuery, answer=Page[AppointmentView], errors={422: "Unknown status"})
    async def get(self) -> None:
        """My appointments, newest slot first (`?status=`)."""
        self.write_json(await appointments.list_mine(
            self.ctx, self.principal.subject_id, self.query.page, self.query.page_size, self.query.status,
            self.locale_code))


class AppointmentHandler(BaseHandler):
    """One of my appointments: read it or cancel it (up to the cut-off)."""

    path_params = ("id",)

    @citizen_required
    @declare(answer=AppointmentView)
    async def get(self, appointment_id: str) -> None:
        """One of my appointments."""
        self.write_json(await appointments.get_mine(self.ctx, self.principal.subject_id, appointment_id,
                                                    self.locale_code))

    @citizen_required
    @declare(answer=AppointmentView, errors={409: "Not booked any more, or the cancellation cut-off has passed"})
    async def delete(self, appointment_id: str) -> None:
        """Cancel my appointment; the place is bookable again at once."""
        self.write_json(await appointments.cancel(self.ctx, self.principal.subject_id, appointment_id, self.locale_code))


class CheckInHandler(BaseHandler):
    """Check in at the hall on the day (optionally with `{latitude, longitude}`) → queue number."""

    path_params = ("id",)

    @citizen_required
    @declare(body=CheckIn, body_required=False, answer=AppointmentView,
             errors={409: "Outside the check-in window, not at the hall, not checkable in its state, or no window "
                          "handles the service"},
             example={"latitude": 30.2741, "longitude": 120.1551})
    async def post(self, appointment_id: str) -> None:
        self.write_json(await appointments.check_in(
            self.ctx, self.principal.subject_id, appointment_id, self.json_body(), self.locale_code))


routes = [
    (r"/api/v1/appointments/slots", SlotsHandler),
    (r"/api/v1/appointments", AppointmentsHandler),
    (r"/api/v1/appointments/([^/]+)", AppointmentHandler),
    (r"/api/v1/appointments/([^/]+)/check-in", CheckInHandler),
]
