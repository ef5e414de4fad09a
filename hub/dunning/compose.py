"""From a :class:`~hub.dunning.actions.SendMessage` action to a message on its way.

The message effector looks up the member, then::

    rendered = compose(action, recipient=Recipient("Somchai", "somchai@example.com",
                                                   "+66812345678"),
                       club_name="Lumpini Gym", pay_links=links, tracker=tracker,
                       now=clock.now())
    deliver(action, rendered, recipient, mailer=mailer, sms=sms_sender)

:func:`compose` mints the signed pay link (valid ``link_valid_for``), wraps it in a
tracked redirect and adds the open pixel when a tracker is given, and renders the
template in the member's language. :func:`deliver` hands it to the channel's adapter
under the action's idempotency key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.dunning.actions import SendMessage
from hub.dunning.kinds import Channel
from hub.dunning.mailer import Mailer, OutgoingEmail
from hub.dunning.messages import MessageContext, RenderedMessage, render_message
from hub.dunning.paylink import PayLinks
from hub.dunning.sms import OutgoingSms, SmsSender
from hub.dunning.tracking import Tracker

#: How long the pay link in a message stays valid.
LINK_VALID_FOR = timedelta(days=14)


class MissingContact(ValueError):
    """The member has no address for the message's channel."""


@dataclass(frozen=True)
class Recipient:
    """Who a message goes to: a name to greet, an email address, a phone number (E.164)."""

    name: str
    email: str | None = None
    phone: str | None = None


def compose(
    action: SendMessage,
    *,
    recipient: Recipient,
    club_name: str,
    pay_links: PayLinks,
    now: datetime,
    tracker: Tracker | None = None,
    unsubscribe_url: str | None = None,
    link_valid_for: timedelta = LINK_VALID_FOR,
) -> RenderedMessage:
    """Render *action* for *recipient* with a fresh pay link (and tracking, if given)."""
    pay_url = pay_links.url(action.member_id, action.invoice_id, expires_at=now + link_valid_for)
    link = tracker.click_url(action.key, pay_url) if tracker else pay_url
    pixel = tracker.pixel_url(action.key) if tracker and action.channel == Channel.EMAIL else None
    ctx = MessageContext(
        member_name=recipient.name,
        club_name=club_name,
        amount_minor=action.amount_minor,
        currency=action.currency,
        language=action.language,
        timezone=action.timezone,
        deadline=action.deadline,
        link=link,
        pixel_url=pixel,
        unsubscribe_url=None if action.legal_notice else unsubscribe_url,
        legal_notice=action.legal_notice,
    )
    return render_message(action.template, action.tone, ctx)


def deliver(
    action: SendMessage,
    rendered: RenderedMessage,
    recipient: Recipient,
    *,
    mailer: Mailer,
    sms: SmsSender,
    unsubscribe_url: str | None = None,
) -> str:
    """Send *rendered* on the action's channel; returns the adapter's message id.

    :raises MissingContact: the member has no address for that channel.
    """
    if action.channel == Channel.EMAIL:
        if not recipient.email:
            raise MissingContact(f"member {action.member_id} has no email address")
        return mailer.send(
            OutgoingEmail(
                to=recipient.email,
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html,
                key=action.key,
                unsubscribe_url=None if action.legal_notice else unsubscribe_url,
            )
        )
    if not recipient.phone:
        raise MissingContact(f"member {action.member_id} has no phone number")
    return sms.send(OutgoingSms(to=recipient.phone, body=rendered.sms, key=action.key))
