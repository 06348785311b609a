"""Shared steps of the e-licence tests: a citizen with a real name, an application completed into a
licence (GA-0010 无犯罪记录证明 in the demo catalogue), uploads, an import."""

from __future__ import annotations

from typing import Any

from models import tokens

HOLDER_ID = "11010519491231002X"
HOLDER_NAME = "张三丰"
OTHER_ID = "110101199003074258"
PDF = b"%PDF-1.7\n" + b"1 0 obj << >> endobj\n" * 40 + b"%%EOF\n"
BOUNDARY = "----CityGateLicenceBoundary"


async def verified_citizen(fetch, make_citizen, name: str = HOLDER_NAME, id_number: str = HOLDER_ID) -> tuple[str, str]:
    """(citizen_id, token) of a citizen with a bound real name."""
    citizen_id, token = await make_citizen(nickname="持证人")
    bound = await fetch("POST", "/api/v1/me/realname", json={"name": name, "id_number": id_number}, token=token)
    assert bound.status == 200, bound.text
    return citizen_id, token


async def fresh_token(app, citizen_id: str) -> str:
    """A new access token (after the clock jumped far ahead)."""
    return await tokens.issue_access_token(app.ctx.redis, tokens.Principal("citizen", citizen_id), 3600)


async def upload(fetch, token: str, service_code: str, material: str) -> str:
    body = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="scan.pdf"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + PDF + f"\r\n--{BOUNDARY}--\r\n".encode()
    response = await fetch("POST", f"/api/v1/files?service_code={service_code}&material={material}", body=body,
                           token=token, headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert response.status == 201, response.text
    return response.json()["file_id"]


async def act(fetch, token: str, no: str, action: str, **fields: Any):
    return await fetch("POST", f"/admin/v1/applications/{no}/actions", json={"action": action, **fields}, token=token)


async def issued_licence(fetch, token: str, gongan_clerk: str) -> dict[str, Any]:
    """Apply for GA-0010 and have the police complete it: the licence it issues, from the wallet."""
    form = {"applicant_name": HOLDER_NAME, "id_number": HOLDER_ID, "phone": "13800138000", "purpose": "就业"}
    submitted = await fetch("POST", "/api/v1/applications", token=token, json={
        "service_code": "GA-0010", "form": form,
        "materials": {"id_card": [await upload(fetch, token, "GA-0010", "id_card")]}})
    assert submitted.status == 201, submitted.text
    no = submitted.json()["application_no"]
    for step in ("accept", "approve"):
        assert (await act(fetch, gongan_clerk, no, step)).status == 200
    done = await act(fetch, gongan_clerk, no, "complete", result="无犯罪记录证明已出具")
    assert done.status == 200, done.text
    licence_id = done.json()["result"]["licence_id"]
    wallet = (await fetch("GET", "/api/v1/me/licences", token=token)).json()
    found = [licence for licence in wallet["items"] if licence["licence_id"] == licence_id]
    assert len(found) == 1
    return found[0]


TAXI_FORM = {"applicant_name": HOLDER_NAME, "id_number": HOLDER_ID, "phone": "13800138000", "type": "巡游出租汽车"}


async def taxi_application(fetch, token: str, licences: list[dict[str, Any]], **extra: Any):
    """Apply for JT-0001 (taxi driver) with uploads for every material but those `licences` give."""
    given = {entry.get("material") for entry in licences}
    materials = {key: [await upload(fetch, token, "JT-0001", key)]
                 for key in ("id_card", "driving_licence", "no_crime", "taxi_application") if key not in given}
    return await fetch("POST", "/api/v1/applications", token=token, json={
        "service_code": "JT-0001", "form": TAXI_FORM, "materials": materials, "licences": licences, **extra})
