"""Organisations, members and API tokens over HTTP; the audit log's check."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from tweeling.api.deps import DB, RowId, SignedIn
from tweeling.api.parts import PLATFORM, ApiPart
from tweeling.services import organisations as service

router = APIRouter(tags=["organisations"])


def part() -> ApiPart:
    return ApiPart(
        name="organisations",
        router=router,
        landing=PLATFORM,
        tags={"organisations": "Organisations, members, API tokens and the audit log"},
    )


@router.get("/organisations", summary="Organisations you may see")
def list_organisations(db: DB, caller: SignedIn) -> dict[str, Any]:
    return {"organisations": service.visible_organisations(db, caller)}


class NewOrganisation(BaseModel):
    name: str
    kind: str = Field(description="municipality, province, water_board, provider, accreditor, …")
    mfa_required: bool = False


@router.post("/organisations", status_code=201, summary="Create an organisation (market master)")
def post_organisation(body: NewOrganisation, db: DB, caller: SignedIn) -> dict[str, Any]:
    org = service.create_organisation(db, caller, body.name, body.kind, body.mfa_required)
    return {"name": org.name, "kind": org.kind.value, "mfa_required": org.mfa_required}


@router.get("/organisations/{name}/members", summary="Members and their roles")
def get_members(name: str, db: DB, caller: SignedIn) -> dict[str, Any]:
    return {"members": service.members(db, caller, name)}


class NewMember(BaseModel):
    email: str
    role: str


@router.post("/organisations/{name}/members", status_code=201, summary="Add a member")
def post_member(name: str, body: NewMember, db: DB, caller: SignedIn) -> dict[str, Any]:
    generated = service.add_member(db, caller, name, body.email, body.role)
    out: dict[str, Any] = {"email": body.email.lower(), "role": body.role}
    if generated:
        out["password"] = generated  # a new person: shown this once
    return out


@router.delete(
    "/organisations/{name}/members/{email}/{role}",
    status_code=204,
    summary="Remove a member's role",
)
def delete_member(name: str, email: str, role: str, db: DB, caller: SignedIn) -> Response:
    service.remove_member(db, caller, name, email, role)
    return Response(status_code=204)


class NewToken(BaseModel):
    email: str
    scopes: list[str] = Field(default_factory=list)
    expires_in_days: int = Field(90, ge=1, le=366)


@router.post("/organisations/{name}/tokens", status_code=201, summary="Create an API token")
def post_token(name: str, body: NewToken, db: DB, caller: SignedIn) -> dict[str, Any]:
    issued = service.create_token(
        db, caller, name, body.email, body.scopes, timedelta(days=body.expires_in_days)
    )
    return {"id": issued.id, "token": issued.secret, "expires_at": issued.expires_at.isoformat()}


@router.delete("/organisations/{name}/tokens/{token_id}", status_code=204, summary="Revoke a token")
def delete_token(name: str, token_id: RowId, db: DB, caller: SignedIn) -> Response:
    service.revoke_token(db, caller, token_id, org_name=name)
    return Response(status_code=204)


@router.get("/audit/verify", summary="Check the audit log's chain and signed checkpoints")
def get_audit_verification(db: DB, caller: SignedIn) -> dict[str, Any]:
    result = service.verify_audit(db, caller)
    return result.__dict__
