"""Saving a member's payment methods: gateway customer, token, brand, last four.

A card number (or a processor token from the browser) goes to the gateway and never
into the database; the hub keeps what :class:`~hub.billing.gateway.SavedMethod` gives
back::

    pm = attach_payment_method(session, member=member, gateway=gateway,
                               source="4242 4242 4242 4242", clock=clock)
    pm.token, pm.brand, pm.last4          # ('pm_sim_...', 'visa', '4242')

Saving a method wakes the member's open dunning cases, so the new card is tried at the
dunning worker's next pass.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, col, select

from gatehouse.clock import Clock
from hub.billing.gateway import PaymentGateway
from hub.models import DunningCase, DunningCaseStatus, GatewayCustomer, Member, PaymentMethod


def ensure_customer(
    session: Session, *, member: Member, gateway: PaymentGateway, clock: Clock
) -> str:
    """The gateway's customer id for *member*, created at the gateway the first time."""
    found = session.exec(
        select(GatewayCustomer.customer_ref).where(
            GatewayCustomer.member_id == member.id, GatewayCustomer.gateway == gateway.name
        )
    ).first()
    if found is not None:
        return found
    ref = gateway.create_customer(
        email=member.email,
        name=f"{member.first_name} {member.last_name}",
        reference=f"member:{member.id}",
    )
    session.add(
        GatewayCustomer(
            member_id=member.id or 0, gateway=gateway.name, customer_ref=ref, created_at=clock.now()
        )
    )
    session.flush()
    return ref


def attach_payment_method(
    session: Session,
    *,
    member: Member,
    gateway: PaymentGateway,
    source: str,
    clock: Clock,
    make_default: bool = False,
    exp_month: int | None = None,
    exp_year: int | None = None,
) -> PaymentMethod:
    """Save *source* (a processor token or, on the simulated gateway, a test card
    number) for *member*. The first method, or one with *make_default*, becomes the
    default. Raises :class:`~hub.billing.gateway.PaymentMethodRefused` when the gateway
    refuses it. Flushed, not committed.

    *exp_month* and *exp_year* are the expiry typed with a test card number (the
    simulated gateway's form); a processor token carries its own."""
    customer = ensure_customer(session, member=member, gateway=gateway, clock=clock)
    if exp_month is not None and exp_year is not None:
        saved = gateway.attach_method(  # type: ignore[call-arg]
            customer=customer, source=source, exp_month=exp_month, exp_year=exp_year
        )
    else:
        saved = gateway.attach_method(customer=customer, source=source)
    has_default = session.exec(
        select(PaymentMethod.id).where(
            PaymentMethod.member_id == member.id,
            PaymentMethod.is_default == True,  # noqa: E712
            col(PaymentMethod.detached_at).is_(None),
        )
    ).first()
    if make_default and has_default is not None:
        _clear_default(session, member.id or 0)
    row = PaymentMethod(
        member_id=member.id or 0,
        gateway=gateway.name,
        token=saved.token,
        brand=saved.brand,
        last4=saved.last4,
        exp_month=saved.exp_month,
        exp_year=saved.exp_year,
        is_default=make_default or has_default is None,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    wake_dunning_cases(session, member_id=member.id or 0)
    return row


def wake_dunning_cases(session: Session, *, member_id: int) -> None:
    """Have the dunning workers look at the member's open cases at once: a newly saved
    method is charged by the retry in progress instead of waiting for the next one."""
    session.execute(
        update(DunningCase)
        .where(
            DunningCase.member_id == member_id,  # type: ignore[arg-type]
            DunningCase.status == DunningCaseStatus.OPEN.value,  # type: ignore[arg-type]
        )
        .values(next_run_at=None)
        .execution_options(synchronize_session=False)
    )


def make_default(session: Session, *, method: PaymentMethod) -> PaymentMethod:
    """Make *method* its member's default."""
    _clear_default(session, method.member_id)
    method.is_default = True
    session.add(method)
    session.flush()
    return method


def detach_payment_method(
    session: Session, *, method: PaymentMethod, gateway: PaymentGateway, clock: Clock
) -> None:
    """Remove *method* at the gateway and mark it detached (kept for history); the
    member's newest other method becomes the default if this one was."""
    gateway.detach_method(token=method.token)
    method.detached_at = clock.now()
    was_default = method.is_default
    method.is_default = False
    session.add(method)
    session.flush()
    if was_default:
        other = session.exec(
            select(PaymentMethod)
            .where(
                PaymentMethod.member_id == method.member_id,
                col(PaymentMethod.detached_at).is_(None),
            )
            .order_by(col(PaymentMethod.id).desc())
        ).first()
        if other is not None:
            make_default(session, method=other)


def _clear_default(session: Session, member_id: int) -> None:
    session.execute(
        update(PaymentMethod)
        .where(PaymentMethod.member_id == member_id)  # type: ignore[arg-type]
        .values(is_default=False)
    )
