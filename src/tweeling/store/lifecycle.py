"""The states an app version passes through, and who may move it from one to the next.

    draft → submitted → checks → (beta) → under-review → approved | rejected
    approved → deprecated → withdrawn;  approved | beta → suspended → approved | withdrawn

A published package enters as a draft; its publisher submits it for accreditation. From
there only the accreditation pipeline (``services.accreditation``) moves it towards the
store: the automated checks, the optional beta, the assignment of accreditors and the
decision. Nobody approves a version by hand — the market master decides through the
pipeline, which refuses an approval its report does not support.
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


# Who moves a version along each edge: its publisher, the market master, or the
# accreditation pipeline (which the market master drives, but only through its rules).
PUBLISHER = "publisher"
MARKET_MASTER = "market-master"
PIPELINE = "accreditation"

TRANSITIONS: dict[tuple[State, State], str] = {
    (State.draft, State.submitted): PUBLISHER,
    (State.draft, State.withdrawn): PUBLISHER,
    (State.submitted, State.checks): PIPELINE,
    (State.submitted, State.rejected): PIPELINE,
    (State.checks, State.beta): PIPELINE,
    (State.checks, State.under_review): PIPELINE,
    (State.checks, State.rejected): PIPELINE,
    (State.beta, State.under_review): PIPELINE,
    (State.beta, State.rejected): PIPELINE,
    (State.beta, State.suspended): MARKET_MASTER,
    (State.under_review, State.approved): PIPELINE,
    (State.under_review, State.rejected): PIPELINE,
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
    ``wanted``; the market master may also take the publisher's steps (and the pipeline may
    suspend, when a spot check fails), but nobody takes the pipeline's."""
    stands_in = {MARKET_MASTER: PUBLISHER, PIPELINE: MARKET_MASTER}

    def may(actor: str) -> bool:
        return actor in (by, stands_in.get(by))

    who = TRANSITIONS.get((current, wanted))
    if who is not None and may(who):
        return
    allowed = sorted(
        to.value for (frm, to), actor in TRANSITIONS.items() if frm == current and may(actor)
    )
    before_store = current in (
        State.draft,
        State.submitted,
        State.checks,
        State.beta,
        State.under_review,
    )
    if who == PIPELINE or (who is None and wanted == State.approved and before_store):
        raise Conflict(
            f"a version goes from {current.value} to {wanted.value} only through accreditation "
            "(tweeling accredit submit, checks, assign, score, decide)"
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
