"""The console's navigation: one entry per page, shown only to who may open it.

A page added later appends its entry to :data:`NAV` (or passes ``nav=`` to
:func:`hub.console.mount_console`)::

    NavEntry("nav.invoices", "/console/invoices", Perm.BILLING_VIEW, order=40)

``label`` is a message id of the catalogs (:mod:`hub.console.i18n`).
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.console.permissions import Perm


@dataclass(frozen=True)
class NavEntry:
    """A link in the top navigation.

    :param label: message id of its text.
    :param href: where it goes; also the path prefix that marks it current.
    :param perm: who sees it.
    :param order: place from left to right.
    """

    label: str
    href: str
    perm: Perm
    order: int = 50

    def is_current(self, path: str) -> bool:
        """True if *path* is this entry's page or below it."""
        return path == self.href or path.startswith(self.href + "/")


NAV: tuple[NavEntry, ...] = (
    NavEntry("nav.dashboard", "/console/dashboard", Perm.DASHBOARD, 10),
    NavEntry("nav.members", "/console/members", Perm.MEMBERS_VIEW, 20),
    NavEntry("nav.checkins", "/console/checkins", Perm.CHECKINS_VIEW, 30),
    NavEntry("nav.gates", "/console/gates", Perm.GATES_VIEW, 60),
    NavEntry("nav.reports", "/console/reports", Perm.REPORTS_VIEW, 70),
    NavEntry("nav.audit", "/console/audit", Perm.AUDIT_VIEW, 80),
    NavEntry("nav.users", "/console/users", Perm.USERS_MANAGE, 90),
)
