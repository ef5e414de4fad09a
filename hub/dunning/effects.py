"""Effectors: what each dunning action does to the world, and what came of it.

The worker (:mod:`hub.dunning.worker`) has already recorded the action in the outbox
under its idempotency key; an effector carries it out and returns an :class:`Effect`.
Effects on the hub's own tables (suspension, staff tasks, cancellation, the record of a
sent message) happen in the worker's transaction, together with marking the action
done, so they happen exactly once. Effects outside it carry the action's key:

* **retry charge** -- :func:`hub.billing.collect.collect_invoice` with the action's key
  as ``request_key``: a billing charge attempt (``invoice:<id>:attempt:<n>``, the
  gateway's idempotency key) is recorded and committed before the gateway is called,
  and asking again finds it instead of charging twice.
* **message** -- composed in the member's language with a fresh pay link (and, unless it
  is a legally required notice, an unsubscribe link), then sent by SMTP (``Message-ID``
  derived from the key) or by the SMS adapter (``Idempotency-Key``). A marketing
  message planned before the member unsubscribed is skipped.
* **suspend** -- the subscription becomes ``suspended`` and the member's entitlement ends
  this morning (:func:`hub.billing.access.access_window`), so the gates refuse the card
  within a second, and gates cut off from the hub refuse it too.
* **escalate** -- a :class:`~hub.models.CollectionTask` for staff.
* **cancel** -- the subscription is cancelled now and the invoice marked uncollectible.

Each checks first that the case is still open: a payment that arrived since the action
was planned turns it into ``skipped``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from gatehouse.clock import Clock
from hub.billing.access import sync_subscription_access
from hub.billing.collect import collect_invoice
from hub.billing.declines import DeclineReason
from hub.billing.desk import InvoiceActionRefused, mark_uncollectible
from hub.billing.gateway import GatewayError, PaymentGateway
from hub.billing.renewals import BillingRefused, SubscriptionStatus
from hub.billing.run import open_session
from hub.billing.services import beside_database
from hub.billing.subscriptions import cancel_subscription
from hub.core.config import Settings
from hub.dunning.actions import (
    Action,
    CancelSubscription,
    Escalate,
    RetryCharge,
    SendMessage,
    SuspendAccess,
)
from hub.dunning.compose import MissingContact, Recipient, compose, deliver
from hub.dunning.kinds import Outcome
from hub.dunning.links import pay_links, tracker, unsubscribes
from hub.dunning.mailer import MailDeliveryError, Mailer
from hub.dunning.sms import OutboxSmsSender, SmsDeliveryError, SmsSender, WebhookSmsSender
from hub.dunning.store import CaseContext
from hub.models import (
    AttemptStatus,
    ChargeAttempt,
    CollectionTask,
    DunningCase,
    DunningCaseStatus,
    DunningMessage,
    Plan,
    Subscription,
)

_ATTEMPT_OUTCOMES = {
    AttemptStatus.SUCCEEDED.value: Outcome.SUCCEEDED,
    AttemptStatus.DECLINED.value: Outcome.DECLINED,
    AttemptStatus.REQUIRES_ACTION.value: Outcome.DECLINED,
    AttemptStatus.FAILED.value: Outcome.FAILED,
}


@dataclass(frozen=True)
class Effect:
    """What came of carrying out an action.

    :param outcome: the final outcome, or ``None`` for "not known yet: try again later"
        (a mail server or gateway that did not answer).
    :param decline_reason: for declined charges.
    :param error: why it failed or must be tried again.
    :param charge_attempt_id: for charges, the billing attempt.
    """

    outcome: Outcome | None
    decline_reason: DeclineReason | None = None
    error: str | None = None
    charge_attempt_id: int | None = None


def sms_sender(settings: Settings) -> SmsSender:
    """The SMS adapter the settings ask for: the club's webhook, else an outbox folder."""
    if settings.sms_webhook_url:
        secret = settings.sms_webhook_secret.encode() if settings.sms_webhook_secret else None
        return WebhookSmsSender(settings.sms_webhook_url, secret=secret)
    return OutboxSmsSender(Path(settings.sms_outbox or beside_database(settings, "sms")))


@dataclass
class Effectors:
    """The adapters actions are carried out through.

    :param gateway: charges retries.
    :param mailer: sends email (SMTP, or an outbox folder).
    :param sms: sends SMS.
    """

    engine: Engine
    settings: Settings
    clock: Clock
    gateway: PaymentGateway
    mailer: Mailer
    sms: SmsSender

    def still_open(self, session: Session, case_id: int) -> bool:
        """True if the case is open right now (read past the session's cache)."""
        row = session.exec(
            select(DunningCase.status)
            .where(DunningCase.id == case_id)
            .execution_options(populate_existing=True)
        ).first()
        return row == DunningCaseStatus.OPEN.value

    def carry_out(self, session: Session, ctx: CaseContext, action: Action) -> Effect:
        """Carry out *action* for the case in *ctx* (see the module documentation)."""
        if not self.still_open(session, ctx.row.id or 0):
            return Effect(Outcome.SKIPPED, error="the case closed before it was carried out")
        if isinstance(action, RetryCharge):
            return self.retry(action, ctx)
        if isinstance(action, SendMessage):
            return self.message(session, action, ctx)
        if isinstance(action, SuspendAccess):
            return self.suspend(session, ctx)
        if isinstance(action, Escalate):
            return self.escalate(session, action, ctx)
        return self.cancel(session, action, ctx)

    # -- effectors ----------------------------------------------------------------------

    def retry(self, action: RetryCharge, ctx: CaseContext) -> Effect:
        try:
            collect_invoice(
                engine=self.engine,
                settings=self.settings,
                clock=self.clock,
                gateway=self.gateway,
                invoice_id=ctx.row.invoice_id,
                payment_method_id=int(action.method_id),
                request_key=action.key,
                actor="dunning",
            )
        except InvoiceActionRefused as err:
            return Effect(Outcome.SKIPPED, error=str(err))
        except GatewayError as err:
            return Effect(None, error=f"gateway: {err}")
        with open_session(self.engine, self.settings) as s:
            attempt = s.exec(
                select(ChargeAttempt).where(ChargeAttempt.request_key == action.key)
            ).first()
        if attempt is None:  # nothing could be charged (no customer at the gateway)
            return Effect(Outcome.FAILED, error="no saved method could be charged")
        outcome = _ATTEMPT_OUTCOMES.get(attempt.status)
        if outcome is None:
            return Effect(None, error="the gateway's answer is not known yet",
                          charge_attempt_id=attempt.id)  # fmt: skip
        reason = attempt.decline_reason
        if attempt.status == AttemptStatus.REQUIRES_ACTION.value:
            reason = DeclineReason.AUTHENTICATION_REQUIRED.value
        return Effect(
            outcome,
            decline_reason=DeclineReason(reason) if reason else None,
            error=attempt.raw_message if outcome is not Outcome.SUCCEEDED else None,
            charge_attempt_id=attempt.id,
        )

    def message(self, session: Session, action: SendMessage, ctx: CaseContext) -> Effect:
        member = ctx.member
        recipient = Recipient(member.first_name, email=member.email, phone=member.phone)
        if member.marketing_opt_out_at is not None and not action.legal_notice:
            return Effect(Outcome.SKIPPED, error="the member unsubscribed from reminders")
        unsubscribe_url = (
            None if action.legal_notice else unsubscribes(self.settings).url(member.id or 0)
        )
        rendered = compose(
            action,
            recipient=recipient,
            club_name=ctx.club_name,
            pay_links=pay_links(self.settings),
            tracker=tracker(self.settings),
            unsubscribe_url=unsubscribe_url,
            now=self.clock.now(),
        )
        try:
            provider_id = deliver(action, rendered, recipient, mailer=self.mailer, sms=self.sms,
                                  unsubscribe_url=unsubscribe_url)  # fmt: skip
        except (MissingContact, ValueError) as err:  # no address, or not a usable one
            return Effect(Outcome.FAILED, error=str(err)[:500])
        except (MailDeliveryError, SmsDeliveryError) as err:
            return Effect(Outcome.FAILED if err.permanent else None, error=str(err)[:500])
        session.add(
            DunningMessage(
                key=action.key,
                case_id=ctx.row.id or 0,
                member_id=member.id or 0,
                channel=str(action.channel),
                template=action.template,
                tone=str(action.tone),
                language=rendered.language,
                step=action.step,
                legal_notice=action.legal_notice,
                recipient=(member.email if action.channel == "email" else member.phone) or "",
                provider_id=provider_id[:255],
                sent_at=self.clock.now(),
            )
        )
        return Effect(Outcome.SENT)

    def _subscription(self, session: Session, ctx: CaseContext) -> tuple[Subscription, Plan] | None:
        if ctx.row.subscription_id is None:
            return None
        q = select(Subscription).where(Subscription.id == ctx.row.subscription_id)
        if session.get_bind().dialect.name == "postgresql":
            q = q.with_for_update()  # a payment settling at this moment waits, or we do
        sub = session.exec(q.execution_options(populate_existing=True)).first()
        plan = session.get(Plan, sub.plan_id) if sub is not None else None
        return (sub, plan) if sub is not None and plan is not None else None

    def suspend(self, session: Session, ctx: CaseContext) -> Effect:
        found = self._subscription(session, ctx)
        if found is None:
            return Effect(Outcome.SKIPPED, error="the case has no subscription to suspend")
        sub, plan = found
        if not self.still_open(session, ctx.row.id or 0):
            return Effect(Outcome.SKIPPED, error="paid while suspending")
        unpaid = (SubscriptionStatus.PAST_DUE.value, SubscriptionStatus.ACTIVE.value)
        if sub.status not in unpaid:
            return Effect(Outcome.SKIPPED, error=f"the subscription is {sub.status}")
        sub.status = SubscriptionStatus.SUSPENDED.value
        sub.updated_at = self.clock.now()
        session.add(sub)
        session.flush()
        sync_subscription_access(
            session,
            [(sub, plan)],
            clock=self.clock,
            reason=f"subscription:{sub.id} suspended: invoice {ctx.row.invoice_id} unpaid",
        )
        return Effect(Outcome.SUCCEEDED)

    def escalate(self, session: Session, action: Escalate, ctx: CaseContext) -> Effect:
        session.add(
            CollectionTask(
                key=action.key,
                case_id=ctx.row.id or 0,
                member_id=ctx.row.member_id,
                kind=str(action.task),
                amount_minor=action.amount_minor,
                currency=action.currency,
                brief=action.note[:500],
                created_at=self.clock.now(),
            )
        )
        return Effect(Outcome.SUCCEEDED)

    def cancel(self, session: Session, action: CancelSubscription, ctx: CaseContext) -> Effect:
        found = self._subscription(session, ctx)
        if found is not None:
            sub, _plan = found
            # cancelled already: the invoice is still to be written off
            with contextlib.suppress(BillingRefused):
                cancel_subscription(session, sub=sub, clock=self.clock, at_period_end=False)
        if action.mark_uncollectible:
            try:
                mark_uncollectible(session, invoice_id=ctx.row.invoice_id, clock=self.clock)
            except InvoiceActionRefused as err:
                return Effect(Outcome.SKIPPED, error=str(err))
        return Effect(Outcome.SUCCEEDED)
