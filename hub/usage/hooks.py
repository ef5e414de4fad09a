"""The usage due hook: charged visits of finished days are invoiced before the billing
run (order 90) at every clock step."""

from __future__ import annotations

from hub.clock.hooks import DueContext, register_due_hook


def usage(ctx: DueContext) -> object:
    """Invoice charged visits of days that are over (:mod:`hub.usage.invoicing`)."""
    from hub.usage.invoicing import bill_usage

    return bill_usage(
        engine=ctx.engine, settings=ctx.settings, clock=ctx.clock, gateway=ctx.billing.gateway
    )


register_due_hook("usage", usage, order=90)
