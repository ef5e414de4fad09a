"""Pre-dunning: tell a member their card expires before the renewal it would pay.

The cheapest failed payment is the one that never happens. Every active subscription
renewing within :data:`NOTICE_DAYS` whose charging method (its own, else the member's
default) expires before the renewal day gets one email with an "update my card" link::

    sent = send_card_expiry_reminders(engine=engine, settings=settings, clock=clock,
                                      gateway="simulated", mailer=mailer)

A card "expires" at the end of its expiry month. The reminder's key is
``card-expiry:<method>:<renewal day>``: it is recorded as a
:class:`~hub.models.DunningMessage` (``step = "card_expiry"``) in the transaction that
sends it, so it goes once per card and renewal, and it carries the same ``Message-ID``
if sent again after a crash.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from gatehouse.clock import Clock
from hub.billing.renewals import SubscriptionStatus
from hub.billing.run import open_session
from hub.billing.sitetime import local_midnight, site_today
from hub.core.config import Settings
from hub.dunning.kinds import Tone
from hub.dunning.links import pay_links, unsubscribes
from hub.dunning.mailer import MailDeliveryError, Mailer, OutgoingEmail
from hub.dunning.messages import MessageContext, render_message
from hub.dunning.store import member_language
from hub.models import (
    BillingProfile,
    DunningMessage,
    Member,
    PaymentMethod,
    Plan,
    Site,
    Subscription,
)

#: How many days before a renewal the reminder goes.
NOTICE_DAYS = 14
STEP = "card_expiry"


def card_expires_on(exp_month: int, exp_year: int) -> date:
    """The last day a card with this expiry can be charged."""
    return date(exp_year, exp_month, calendar.monthrange(exp_year, exp_month)[1])


def reminder_key(method_id: int, renewal: date) -> str:
    """The reminder's idempotency key."""
    return f"card-expiry:{method_id}:{renewal.isoformat()}"


def send_card_expiry_reminders(
    *, engine: Engine, settings: Settings, clock: Clock, gateway: str, mailer: Mailer
) -> int:
    """Email every member whose card expires before a renewal due within
    :data:`NOTICE_DAYS`; returns how many went out."""
    now = clock.now()
    sent = 0
    with open_session(engine, settings) as session:
        for site in session.exec(select(Site)).all():
            today = site_today(now, site.timezone)
            last = today + timedelta(days=NOTICE_DAYS)
            # Only subscriptions whose charging card runs out by the window's last month
            # (a few), never every renewal in the next two weeks.
            m = PaymentMethod
            own_or_default = (col(m.id) == col(Subscription.payment_method_id)) | (
                col(Subscription.payment_method_id).is_(None) & col(m.is_default)
            )
            subs = session.exec(
                select(Subscription)
                .join(m, (col(m.member_id) == col(Subscription.member_id)) & own_or_default)
                .where(
                    Subscription.site_id == site.id,
                    Subscription.status == SubscriptionStatus.ACTIVE.value,
                    col(Subscription.next_bill_on).is_not(None),
                    col(Subscription.next_bill_on) <= last,
                    col(Subscription.next_bill_on) > today,
                    col(m.detached_at).is_(None),
                    m.gateway == gateway,
                    col(m.exp_year) * 12 + col(m.exp_month) <= last.year * 12 + last.month,
                )
            ).all()
            profile = session.get(BillingProfile, site.id)
            club = (profile.legal_name if profile is not None else None) or site.name
            for sub in subs:
                method = _charging_method(session, sub, gateway)
                renewal = sub.next_bill_on
                assert renewal is not None
                if method is None or card_expires_on(method.exp_month, method.exp_year) >= renewal:
                    continue
                key = reminder_key(method.id or 0, renewal)
                if session.exec(select(DunningMessage.id).where(DunningMessage.key == key)).first():
                    continue
                member = session.get(Member, sub.member_id)
                plan = session.get(Plan, sub.plan_id)
                if member is None or plan is None or member.marketing_opt_out_at is not None:
                    continue  # a reminder, not a required notice: an opt-out stops it
                link = pay_links(settings).url(
                    str(member.id), f"sub-{sub.id}", expires_at=now + timedelta(days=NOTICE_DAYS),
                    purpose="update_card",
                )  # fmt: skip
                ctx = MessageContext(
                    member_name=member.first_name, club_name=club, amount_minor=plan.price_minor,
                    currency=plan.currency, language=member_language(member, profile),
                    timezone=site.timezone,
                    deadline=local_midnight(renewal, site.timezone), link=link,
                    unsubscribe_url=unsubscribes(settings).url(member.id or 0),
                )  # fmt: skip
                message = render_message("card_expiring", Tone.POLITE, ctx)
                try:
                    provider_id = mailer.send(
                        OutgoingEmail(to=member.email, subject=message.subject,
                                      text=message.text, html=message.html, key=key,
                                      unsubscribe_url=unsubscribes(settings).url(member.id or 0))
                    )  # fmt: skip
                except MailDeliveryError as err:
                    if not err.permanent:
                        break  # the mail server is away: next time
                    provider_id = f"refused: {err}"
                session.add(
                    DunningMessage(
                        key=key, case_id=None, member_id=member.id or 0, channel="email",
                        template="card_expiring", tone=Tone.POLITE.value,
                        language=message.language, step=STEP, legal_notice=False,
                        recipient=member.email, provider_id=provider_id[:255], sent_at=now,
                    )
                )  # fmt: skip
                session.commit()
                sent += 1
    return sent


def _charging_method(session: Session, sub: Subscription, gateway: str) -> PaymentMethod | None:
    """The method the renewal will charge: the subscription's own, else the default."""
    if sub.payment_method_id is not None:
        own = session.get(PaymentMethod, sub.payment_method_id)
        if own is not None and own.detached_at is None:
            return own
    return session.exec(
        select(PaymentMethod).where(
            PaymentMethod.member_id == sub.member_id,
            PaymentMethod.gateway == gateway,
            PaymentMethod.is_default == True,  # noqa: E712
            col(PaymentMethod.detached_at).is_(None),
        )
    ).first()
