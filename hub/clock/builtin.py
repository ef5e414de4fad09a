"""The due hooks the hub ships: billing run, invoice emails, entitlement refresh."""

from __future__ import annotations

from hub.clock.hooks import DueContext, register_due_hook


def billing(ctx: DueContext) -> object:
    """Issue and charge everything due (:func:`hub.billing.run.run_billing`)."""
    from hub.billing.run import run_billing

    return run_billing(
        engine=ctx.engine, settings=ctx.settings, clock=ctx.clock, gateway=ctx.billing.gateway
    )


def invoice_emails(ctx: DueContext) -> object:
    """Email invoices issued since the last step (:mod:`hub.billing.mail`)."""
    from hub.billing.mail import send_invoice_emails

    return send_invoice_emails(
        engine=ctx.engine, settings=ctx.settings, mailer=ctx.billing.mailer, clock=ctx.clock
    )


def entitlements(ctx: DueContext) -> object:
    """Rebuild access records whose entitlements started or ended (and tell the gates)."""
    from hub.access.changes import refresh_due
    from hub.billing.run import open_session

    with open_session(ctx.engine, ctx.settings) as session:
        moved = refresh_due(session, clock=ctx.clock)
        session.commit()
    return moved


register_due_hook("billing", billing, order=100)
register_due_hook("invoice-emails", invoice_emails, order=150)
register_due_hook("entitlements", entitlements, order=900)
