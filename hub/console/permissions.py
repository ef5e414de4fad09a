"""Who may do what in the console: one table from role to permissions.

Every console route names the one permission it needs (``need(Perm.MEMBERS_EDIT)`` in
:mod:`hub.console.deps`), and the navigation and dashboard tiles show only what the
viewer may open::

    can(Role.FRONT_DESK, Perm.MEMBERS_EDIT)   # True
    can(Role.INSTALLER, Perm.MEMBERS_VIEW)    # False

=================  =====  =======  ==========  =========
permission         owner  manager  front_desk  installer
=================  =====  =======  ==========  =========
dashboard            x       x         x
members.view         x       x         x
members.edit         x       x         x
cards.enroll         x       x         x
checkins.view        x       x         x
entitlements.edit    x       x
gates.view           x       x                     x
gates.command        x       x                     x
gates.add            x       x                     x
reports.view         x       x
audit.view           x       x
billing.view         x       x
billing.manage       x       x
billing.desk         x       x         x
users.manage         x
account              x       x         x           x
=================  =====  =======  ==========  =========

``billing.view`` and ``billing.manage`` are for the invoice, plan, report and dunning
pages and the money tiles of the dashboard (MRR, failed payments, recovered);
``billing.desk`` is the front desk's share of billing: a member's open invoices on the
member page and taking cash or a transfer for them (all or part of the balance) --
no revenue figures, no voids, refunds or write-offs.  A new page adds its permission
here (and to the table above).
"""

from __future__ import annotations

from enum import StrEnum

from hub.models import Role


class Perm(StrEnum):
    """A thing a console user may see or do."""

    DASHBOARD = "dashboard"
    MEMBERS_VIEW = "members.view"
    MEMBERS_EDIT = "members.edit"
    CARDS_ENROLL = "cards.enroll"
    CHECKINS_VIEW = "checkins.view"
    ENTITLEMENTS_EDIT = "entitlements.edit"
    GATES_VIEW = "gates.view"
    GATES_COMMAND = "gates.command"
    GATES_ADD = "gates.add"
    REPORTS_VIEW = "reports.view"
    AUDIT_VIEW = "audit.view"
    BILLING_VIEW = "billing.view"
    BILLING_MANAGE = "billing.manage"
    BILLING_DESK = "billing.desk"
    USERS_MANAGE = "users.manage"
    ACCOUNT = "account"


_FRONT_DESK = frozenset(
    {
        Perm.DASHBOARD,
        Perm.MEMBERS_VIEW,
        Perm.MEMBERS_EDIT,
        Perm.CARDS_ENROLL,
        Perm.CHECKINS_VIEW,
        Perm.BILLING_DESK,
        Perm.ACCOUNT,
    }
)
_INSTALLER = frozenset({Perm.GATES_VIEW, Perm.GATES_COMMAND, Perm.GATES_ADD, Perm.ACCOUNT})

#: The permission table (see the module documentation).
PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.OWNER: frozenset(Perm),
    Role.MANAGER: frozenset(Perm) - {Perm.USERS_MANAGE},
    Role.FRONT_DESK: _FRONT_DESK,
    Role.INSTALLER: _INSTALLER,
}


def permissions_of(role: Role | str) -> frozenset[Perm]:
    """Everything *role* may do (nothing for an unknown role)."""
    try:
        return PERMISSIONS[Role(role)]
    except ValueError:
        return frozenset()


def can(role: Role | str, perm: Perm) -> bool:
    """True if *role* has *perm*."""
    return perm in permissions_of(role)
