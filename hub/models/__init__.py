"""The hub's data model (SQLModel): one module per group of tables.

Every table uses SQLModel's default name (the class name in lower case) and an integer
``id``.  Per entity there are ``XBase`` (shared fields), ``XCreate`` / ``XUpdate`` (what
the API accepts), ``X`` (the table) and ``XPublic`` (what the API returns).

=============  ==========================================================
table          what it holds
=============  ==========================================================
site           premises: topic slug, IANA time zone, sealed card secret,
               access-list version
zone, door     zones 0-15 of a site; doors and the zone each belongs to
schedule       weekly windows (site time) referenced by list records
member, card   people and their RFID cards (UID kept, shown as last 4)
entitlement    what a member may enter, when, until when, from what source
gate           door nodes, credentials, fleet state; gateclaim, gatestore
checkin        every decided tap, unique on (gate, store_id, seq)
auditlog       who did what, before/after
user, apitoken console users (argon2) and bearer tokens (hashed)
consolesession console logins (server-side, token hashed), loginthrottle,
               memberinteraction (notes, calls, visits)
aclentry,      each site's current list and its change history
aclchange
plan,          billing: plans per site, subscriptions (BillingState columns,
subscription   paid_through), gatewaycustomer, paymentmethod (tokens only),
               billingprofile (how a site's invoices look)
invoice, ...   invoice (+ invoicecounter, invoiceline), chargeattempt, payment,
               refund, dispute, webhookevent
dunningcase    one open case per failed invoice, for the dunning workers
dunningaction, the dunning outbox (one row per action, unique key), messages
dunningmessage sent (opens, clicks), collectiontask, paymentplan,
               dunningpolicy (policy YAML per name and version)
portallink,    the member portal: emailed sign-in links (hashed, single use),
portalsession, member sessions, members' freeze requests
freezerequest
clockstate     the manual (test) clock, shared by the CLI and the server
usageplan, ... usage billing: usageplan, usagepass, usagerecord, usagesite
=============  ==========================================================
"""

from hub.models.acl import AclChange, AclEntry
from hub.models.base import UTCDateTime, as_unix
from hub.models.billing import (
    BillingProfile,
    GatewayCustomer,
    PaymentMethod,
    Plan,
    Subscription,
)
from hub.models.checkin import AuditLog, CheckIn
from hub.models.clockstate import ClockState
from hub.models.console import ConsoleSession, LoginThrottle, MemberInteraction
from hub.models.dunning import (
    ActionStatus,
    CollectionTask,
    DunningAction,
    DunningMessage,
    DunningPolicyRow,
    DunningSegmentsRow,
    PaymentPlanRow,
)
from hub.models.dunning_case import DunningCase, DunningCaseStatus
from hub.models.entitlement import Entitlement
from hub.models.gate import Gate, GateClaim, GateKind, GateStore
from hub.models.invoice import (
    AttemptStatus,
    ChargeAttempt,
    Dispute,
    DocumentKind,
    Invoice,
    InvoiceCounter,
    InvoiceLineRow,
    InvoiceStatus,
    Payment,
    Refund,
    WebhookEventRow,
)
from hub.models.member import Card, Member, MemberStatus
from hub.models.portal import FreezeRequest, FreezeRequestStatus, PortalLink, PortalSession
from hub.models.site import Door, Schedule, Site, Zone
from hub.models.usage import UsagePass, UsagePlan, UsageRecord, UsageSite
from hub.models.user import APIToken, Role, User

__all__ = [
    "APIToken",
    "ActionStatus",
    "CollectionTask",
    "DunningAction",
    "DunningMessage",
    "DunningPolicyRow",
    "PaymentPlanRow",
    "DunningSegmentsRow",
    "AclChange",
    "AclEntry",
    "AttemptStatus",
    "AuditLog",
    "BillingProfile",
    "Card",
    "ChargeAttempt",
    "CheckIn",
    "ConsoleSession",
    "ClockState",
    "Dispute",
    "DocumentKind",
    "Door",
    "DunningCase",
    "DunningCaseStatus",
    "Entitlement",
    "FreezeRequest",
    "FreezeRequestStatus",
    "Gate",
    "GateClaim",
    "GateKind",
    "GateStore",
    "LoginThrottle",
    "GatewayCustomer",
    "Invoice",
    "InvoiceCounter",
    "InvoiceLineRow",
    "InvoiceStatus",
    "Member",
    "MemberInteraction",
    "MemberStatus",
    "Payment",
    "PaymentMethod",
    "PortalLink",
    "PortalSession",
    "Plan",
    "Refund",
    "Role",
    "Schedule",
    "Site",
    "Subscription",
    "UTCDateTime",
    "UsagePass",
    "UsagePlan",
    "UsageRecord",
    "UsageSite",
    "User",
    "WebhookEventRow",
    "Zone",
    "as_unix",
]
