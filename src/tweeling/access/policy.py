"""The policy point: the one place that decides who may do what to which resource.

Decisions are made from data — which roles grant which (resource kind, action) within their
own organisation, and what shares and public flags open to others — so the authorisation
matrix can be generated and tested from these tables. Services call :func:`authorize`; it
raises :class:`~tweeling.errors.NotFound` for what the principal may not even see (worded
exactly as a lookup of something that does not exist, so nothing leaks that it exists) and
:class:`~tweeling.errors.Forbidden` only for what it sees but may not do. Whether a resource
is visible never depends on a token's scopes: a narrow token is told no more than its
person would be. Every denial of a signed-in principal is an audit entry; an anonymous
caller's denials are counted (:func:`~tweeling.access.audit.count_anonymous_denial`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from sqlalchemy import Connection

from tweeling.access.audit import AuditEvent, AuditOutcome, count_anonymous_denial, record
from tweeling.access.identity import OrgKind, Principal, Role
from tweeling.errors import Forbidden, NotFound
from tweeling.storage.db import Database


class Kind(StrEnum):
    twin = "twin"
    dataset = "dataset"
    scenario = "scenario"
    organisation = "organisation"
    membership = "membership"
    token = "token"
    audit = "audit"
    listing = "listing"  # an app in the DT-repository, owned by its publisher
    store = "store"  # the store's own decisions (approval, suspension), the market master's
    review = "review"  # an organisation's review of an app version it used
    assessment = "assessment"  # an accreditor's assessment of an app version assigned to it
    plan = "plan"  # a proposed scenario an organisation publishes for participation


class Action(StrEnum):
    read = "read"
    create = "create"
    update = "update"
    delete = "delete"
    share = "share"


# The actions that exist for each kind of data resource (datasets and scenarios are shared
# together with their twin, so only twins have a share action).
APPLICABLE: dict[Kind, frozenset[Action]] = {
    Kind.twin: frozenset(Action),
    Kind.dataset: frozenset(Action) - {Action.share},
    Kind.scenario: frozenset(Action) - {Action.share},
}

_READ = {(k, Action.read) for k in (Kind.twin, Kind.dataset, Kind.scenario, Kind.organisation)}
# Publishing an app: submitting its versions, editing their pages, deprecating or withdrawing.
_PUBLISH = {(Kind.listing, a) for a in (Action.read, Action.create, Action.update)}
# Reviewing, for the organisation, an app version it used.
_REVIEW = {(Kind.review, a) for a in (Action.read, Action.create, Action.update)}
# Assessing, for an accreditor organisation, an app version assigned to it.
_ASSESS = {(Kind.assessment, a) for a in (Action.read, Action.create, Action.update)}
# Publishing the organisation's plans for participation, moderating comments on them (update)
# and withdrawing them.
_PLANS = {(Kind.plan, a) for a in (Action.read, Action.create, Action.update, Action.delete)}

# What each role may do to resources of its own organisation.
ROLE_GRANTS: dict[Role, frozenset[tuple[Kind, Action]]] = {
    Role.admin: frozenset(
        {(k, a) for k, actions in APPLICABLE.items() for a in actions}
        | {(Kind.organisation, Action.read), (Kind.organisation, Action.update)}
        | {(Kind.membership, a) for a in (Action.read, Action.create, Action.delete)}
        | {(Kind.token, a) for a in (Action.read, Action.create, Action.delete)}
        | {(Kind.audit, Action.read)}
        | _PUBLISH
        | _REVIEW
        | _ASSESS
        | _PLANS
    ),
    Role.editor: frozenset(
        _READ
        | {(Kind.twin, Action.create), (Kind.twin, Action.update)}
        | {(Kind.dataset, Action.create), (Kind.dataset, Action.update)}
        | {(Kind.scenario, Action.create), (Kind.scenario, Action.update)}
        | _REVIEW
        | _PLANS
    ),
    Role.analyst: frozenset(
        _READ | {(Kind.scenario, Action.create), (Kind.scenario, Action.update)} | _REVIEW
    ),
    Role.viewer: frozenset(_READ),
    Role.developer: frozenset(_READ | _PUBLISH),
    Role.reviewer: frozenset(_READ | _ASSESS),
}

# What the market master's admins may do across the platform.
PLATFORM_GRANTS: frozenset[tuple[Kind, Action]] = frozenset(
    {(Kind.organisation, a) for a in (Action.read, Action.create, Action.update)}
    | {(Kind.membership, a) for a in (Action.read, Action.create, Action.delete)}
    | {(Kind.token, a) for a in (Action.read, Action.create, Action.delete)}
    | {(Kind.audit, Action.read)}
    | {(Kind.store, Action.read), (Kind.store, Action.update), (Kind.listing, Action.read)}
)


@dataclass(frozen=True)
class Share:
    grantee_org_id: int | None  # None: shared with everyone (public)
    purposes: frozenset[str] = frozenset()  # empty: any purpose


@dataclass(frozen=True)
class Resource:
    kind: Kind
    label: str  # for messages and the audit log, e.g. "twin:delft"
    owner_org_id: int | None
    public: bool = False
    shares: tuple[Share, ...] = field(default_factory=tuple)
    # A public resource to which anyone may add (create): the comments on a published plan.
    open_to_contributions: bool = False


@dataclass(frozen=True)
class Decision:
    allowed: bool
    visible: bool
    reason: str


def _platform_admin(principal: Principal) -> bool:
    return principal.org.kind == OrgKind.market_master and Role.admin in principal.roles


def decide(
    principal: Principal, action: Action, resource: Resource, purpose: str | None = None
) -> Decision:
    """Whether ``principal`` may do ``action`` to ``resource`` (for ``purpose``), and why."""
    wanted = (resource.kind, action)
    if principal.operator:
        return Decision(True, True, "local operator with direct access to the database")
    if (
        principal.scopes is not None
        and principal.scopes
        and (
            f"{resource.kind.value}:{action.value}" not in principal.scopes
            and f"{resource.kind.value}:*" not in principal.scopes
            and "*" not in principal.scopes
        )
    ):
        # Visible or not as for the person behind the token: a 403 here for a resource the
        # person could not see would tell the caller that it exists.
        unscoped = decide(replace(principal, scopes=None), action, resource, purpose)
        return Decision(
            False,
            unscoped.visible,
            f"the token's scopes do not include {wanted[0]}:{wanted[1]}",
        )
    if _platform_admin(principal) and wanted in PLATFORM_GRANTS:
        return Decision(True, True, "market master administrator")
    if resource.owner_org_id is not None and resource.owner_org_id == principal.org.id:
        for role in principal.roles:
            if wanted in ROLE_GRANTS.get(role, frozenset()):
                return Decision(True, True, f"{role.value} of the owning organisation")
        return Decision(
            False,
            True,
            f"your roles ({', '.join(sorted(r.value for r in principal.roles)) or 'none'}) in "
            f"{principal.org.name} do not allow {action.value} on a {resource.kind.value}",
        )
    if resource.owner_org_id is None and resource.kind in (
        Kind.organisation,
        Kind.audit,
        Kind.store,
    ):
        # platform-wide things: everyone knows they exist, only the market master acts on them
        return Decision(
            False,
            True,
            f"only the market master's administrators may {action.value} "
            f"this {resource.kind.value}",
        )
    if resource.owner_org_id is None and resource.kind == Kind.assessment:
        # an assessment exists only for the accreditors assigned to it (the resource then
        # names the caller's organisation as its owner)
        return Decision(
            False,
            True,
            f"only reviewers of an accreditor assigned to {resource.label.partition(':')[2]} "
            f"may {action.value} its assessment",
        )
    reachable = [s for s in resource.shares if s.grantee_org_id in (None, principal.org.id)]
    if resource.public:
        reachable.append(Share(None))
    if not reachable:
        return Decision(False, False, f"{resource.label} is not shared with {principal.org.name}")
    if resource.public and resource.open_to_contributions and action == Action.create:
        return Decision(True, True, "open to contributions from everyone")
    if action != Action.read:
        return Decision(False, True, f"{resource.label} is shared with you for reading only")
    for share in reachable:
        if not share.purposes or (purpose is not None and purpose in share.purposes):
            return Decision(True, True, "shared" if share.grantee_org_id else "public")
    purposes = sorted({p for s in reachable for p in s.purposes})
    asked = f"purpose {purpose!r}" if purpose else "no stated purpose"
    return Decision(
        False,
        True,
        f"{resource.label} is shared with {principal.org.name} only for {', '.join(purposes)}; "
        f"this read has {asked}",
    )


def authorize(
    db: Database,
    principal: Principal,
    action: Action,
    resource: Resource,
    purpose: str | None = None,
) -> Decision:
    """Decide, and on denial record it and raise (404 when not visible, else 403).

    The denial is written in a transaction of its own, so it stays in the audit log although
    the caller's work is abandoned. Call this before the caller's own writes begin.
    """
    decision = decide(principal, action, resource, purpose)
    if decision.allowed:
        return decision
    with db.begin() as conn:
        _record_denial(conn, principal, action, resource, purpose, decision)
    if not decision.visible:
        # Word it exactly as a lookup of something that does not exist, so nothing leaks.
        kind, _, name = resource.label.partition(":")
        raise NotFound(f"no {kind} named {name!r}")
    raise Forbidden(decision.reason)


def _record_denial(
    conn: Connection,
    principal: Principal,
    action: Action,
    resource: Resource,
    purpose: str | None,
    decision: Decision,
) -> None:
    action_name = f"{resource.kind.value}.{action.value}"
    if principal.anonymous:
        count_anonymous_denial(conn, action_name, resource.label)
        return
    record(
        conn,
        AuditEvent(
            principal.actor,
            action_name,
            outcome=AuditOutcome.denied,
            organisation=principal.org.name,
            target=resource.label,
            detail={"reason": decision.reason, "purpose": purpose},
        ),
    )
