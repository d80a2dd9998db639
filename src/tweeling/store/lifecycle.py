"""The states an app version passes through, and who may move it from one to the next.

    draft → submitted → checks → beta → under-review → approved | rejected
    approved → deprecated → withdrawn;  approved | beta → suspended → approved | withdrawn

Until the accreditation pipeline exists, the market master decides: a submitted version may
go straight to approved, rejected or beta with a recorded reason. The pipeline will take
over the steps in between (automated checks, then scored review) without new states.
"""

from __future__ import annotations

from enum import StrEnum

from tweeling.errors import Conflict


class State(StrEnum):
    draft = "draft"
    submitted = "submitted"
    checks = "checks"  # automated intake checks running (accreditation)
    beta = "beta"  # visible to the organisations admitted to the beta
    under_review = "under-review"  # scored by accreditors (accreditation)
    approved = "approved"  # listed in the store
    rejected = "rejected"
    suspended = "suspended"  # taken out of the store while a problem is looked into
    deprecated = "deprecated"  # still listed and running, no longer recommended
    withdrawn = "withdrawn"  # out of the store for good; installations are told


# Who moves a version along each edge: the publisher or the market master.
PUBLISHER = "publisher"
MARKET_MASTER = "market-master"

TRANSITIONS: dict[tuple[State, State], str] = {
    (State.draft, State.submitted): PUBLISHER,
    (State.submitted, State.checks): MARKET_MASTER,
    (State.submitted, State.beta): MARKET_MASTER,
    (State.submitted, State.under_review): MARKET_MASTER,
    (State.submitted, State.approved): MARKET_MASTER,
    (State.submitted, State.rejected): MARKET_MASTER,
    (State.checks, State.beta): MARKET_MASTER,
    (State.checks, State.under_review): MARKET_MASTER,
    (State.checks, State.rejected): MARKET_MASTER,
    (State.beta, State.under_review): MARKET_MASTER,
    (State.beta, State.approved): MARKET_MASTER,
    (State.beta, State.rejected): MARKET_MASTER,
    (State.beta, State.suspended): MARKET_MASTER,
    (State.under_review, State.approved): MARKET_MASTER,
    (State.under_review, State.rejected): MARKET_MASTER,
    (State.approved, State.suspended): MARKET_MASTER,
    (State.approved, State.deprecated): PUBLISHER,
    (State.approved, State.withdrawn): PUBLISHER,
    (State.suspended, State.approved): MARKET_MASTER,
    (State.suspended, State.withdrawn): MARKET_MASTER,
    (State.deprecated, State.withdrawn): PUBLISHER,
}

# States in which a version appears in the store, to everyone or to its beta organisations.
LISTED = frozenset({State.approved, State.deprecated})
BETA = frozenset({State.beta})
# States in which it may be installed (deprecated: still, with a warning).
INSTALLABLE = LISTED | BETA
# States after which the installations of a version are told what happened.
NOTIFY = frozenset({State.deprecated, State.withdrawn, State.suspended})


def check_transition(current: State, wanted: State, by: str) -> None:
    """Raise Conflict naming the allowed next states when ``by`` may not move ``current`` to
    ``wanted``; the market master may also take the publisher's steps."""
    who = TRANSITIONS.get((current, wanted))
    if who is not None and (who == by or by == MARKET_MASTER):
        return
    allowed = sorted(
        to.value
        for (frm, to), actor in TRANSITIONS.items()
        if frm == current and (actor == by or by == MARKET_MASTER)
    )
    if who is not None:
        raise Conflict(
            f"only the {who.replace('-', ' ')} may move a version from {current.value} to "
            f"{wanted.value}"
        )
    raise Conflict(
        f"a version that is {current.value} cannot become {wanted.value}; it can become "
        f"{', '.join(allowed) or 'nothing else'}"
    )
