"""Dunning's due hooks: the worker after each billing run, and card-expiry reminders.

``dunning`` (order 200) runs :func:`hub.dunning.worker.run_dunning` after the billing
run (100) and the invoice emails (150), so a renewal that failed in this step gets its
first message in the same step; ``card-expiry`` (210) sends the pre-dunning reminders
(:mod:`hub.dunning.predunning`). Both use the gateway and mailer of the
:class:`~hub.clock.hooks.DueContext`.
"""

from __future__ import annotations

from hub.clock.hooks import DueContext, register_due_hook


def dunning(ctx: DueContext) -> object:
    """Plan and carry out the dunning actions that fell due."""
    from hub.dunning.worker import run_dunning

    return run_dunning(
        engine=ctx.engine,
        settings=ctx.settings,
        clock=ctx.clock,
        gateway=ctx.billing.gateway,
        mailer=ctx.billing.mailer,
    )


def card_expiry(ctx: DueContext) -> object:
    """Remind members whose card expires before their next renewal."""
    from hub.dunning.predunning import send_card_expiry_reminders

    return send_card_expiry_reminders(
        engine=ctx.engine,
        settings=ctx.settings,
        clock=ctx.clock,
        gateway=ctx.billing.gateway.name,
        mailer=ctx.billing.mailer,
    )


register_due_hook("dunning", dunning, order=200)
register_due_hook("card-expiry", card_expiry, order=210)
