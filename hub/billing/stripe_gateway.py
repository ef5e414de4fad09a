"""The Stripe gateway, over the official ``stripe`` SDK (v16).

Customers, saved payment methods (SetupIntents in production; attaching a test
PaymentMethod such as ``pm_card_visa`` in tests), off-session PaymentIntents confirmed
with our idempotency key, refunds, and verified webhooks (disputes included)::

    gateway = StripeGateway.connect("sk_live_...", webhook_secret="whsec_...")
    # tests: StripeGateway.connect("sk_test_x", api_base="http://127.0.0.1:8420", ...)
    customer = gateway.create_customer(email="somchai@example.com", name="Somchai",
                                       reference="member:42")
    session = gateway.begin_saving_method(customer=customer)   # client_secret for Stripe.js
    card = gateway.method_from_setup_intent(session.setup_intent_id)  # after the browser
    result = gateway.charge(invoice_id="1017", amount=107000, currency="THB",
                            customer=customer, method=card.token,
                            idempotency_key="invoice:1017:attempt:1")

Declines never raise: Stripe's ``code``/``decline_code`` become a
:class:`~hub.billing.declines.DeclineReason` (:mod:`hub.billing.stripe_codes`). A
network failure or a Stripe server error gives status ``error`` (retry with the same
key); a reused key with other parameters raises
:class:`~hub.billing.gateway.IdempotencyConflict`; a request Stripe rejects as invalid
raises :class:`~hub.billing.gateway.GatewayError`.

Amounts: the hub's minor units are ISO 4217's; Stripe uses the same for the currencies
billing supports (THB, USD, EUR, JPY, ...). ISK, UGX and MGA, whose Stripe amounts differ
from ISO 4217, are refused rather than charged wrongly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import replace as _replace
from typing import Any

import stripe
from stripe.params import RefundCreateParams, SetupIntentCreateParams

from hub.billing.declines import DeclineReason
from hub.billing.gateway import (
    ChargeResult,
    ChargeStatus,
    GatewayError,
    IdempotencyConflict,
    PaymentMethodRefused,
    RefundResult,
    SavedMethod,
    WebhookEvent,
    WebhookVerificationError,
)
from hub.billing.money import UnknownCurrency, normalize_currency
from hub.billing.stripe_codes import decline_reason_from_codes
from hub.billing.webhook_events import event_from_stripe_shape

#: Currencies whose Stripe amount is not the ISO 4217 minor-unit amount.
UNSUPPORTED_ON_STRIPE = frozenset({"ISK", "UGX", "MGA"})


@dataclass(frozen=True, slots=True)
class SetupSession:
    """A SetupIntent waiting for the member's browser to confirm a card."""

    setup_intent_id: str
    client_secret: str


def stripe_currency(currency: str) -> str:
    """The lower-case code Stripe expects, refusing currencies it counts differently."""
    try:
        code = normalize_currency(currency)
    except UnknownCurrency as err:
        raise GatewayError(str(err)) from None
    if code in UNSUPPORTED_ON_STRIPE:
        raise GatewayError(f"{code} amounts are counted differently by Stripe; not supported")
    return code.lower()


def _get(obj: Any, name: str) -> Any:
    """A field of a Stripe object or plain dict (``None`` if absent)."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    try:
        return obj[name]
    except (KeyError, TypeError):
        return getattr(obj, name, None)


def _id_of(obj: Any) -> str | None:
    """An id from an expanded object or an id string."""
    if isinstance(obj, str):
        return obj
    value = _get(obj, "id")
    return value if isinstance(value, str) else None


class StripeGateway:
    """Payments through Stripe; see the module documentation.

    :param client: a ``stripe.StripeClient``.
    :param webhook_secret: the endpoint's signing secret (``whsec_...``).
    :param webhook_tolerance_s: accepted age of a webhook signature, in seconds.
    """

    name = "stripe"

    def __init__(
        self, client: stripe.StripeClient, *, webhook_secret: str, webhook_tolerance_s: int = 300
    ) -> None:
        self.client = client
        self.webhook_secret = webhook_secret
        self.webhook_tolerance_s = webhook_tolerance_s

    @classmethod
    def connect(
        cls,
        api_key: str,
        *,
        webhook_secret: str,
        api_base: str | None = None,
        max_network_retries: int = 2,
    ) -> StripeGateway:
        """A gateway with its own client; *api_base* points it at e.g. localstripe.

        The SDK retries network failures itself, reusing our idempotency key.
        """
        kwargs: dict[str, Any] = {"max_network_retries": max_network_retries}
        if api_base:
            kwargs["base_addresses"] = {"api": api_base}
        return cls(stripe.StripeClient(api_key, **kwargs), webhook_secret=webhook_secret)

    def __repr__(self) -> str:
        return "<StripeGateway>"

    # -- customers and methods --------------------------------------------------------

    def create_customer(self, *, email: str, name: str, reference: str) -> str:
        try:
            customer = self.client.v1.customers.create(
                params={"email": email, "name": name, "metadata": {"reference": reference}},
                options={"idempotency_key": f"customer:{reference}"},
            )
        except stripe.StripeError as err:
            raise GatewayError(f"Stripe refused the customer: {err.user_message or err}") from err
        return str(customer.id)

    def attach_method(self, *, customer: str, source: str) -> SavedMethod:
        """Attach the PaymentMethod *source* (``pm_...``) to *customer*."""
        try:
            method = self.client.v1.payment_methods.attach(source, params={"customer": customer})
        except stripe.StripeError as err:
            raise PaymentMethodRefused(
                f"Stripe refused the method: {err.user_message or err}"
            ) from err
        return self._saved(method)

    def begin_saving_method(self, *, customer: str) -> SetupSession:
        """Start saving a card for off-session charges (the browser confirms it)."""
        try:
            params: SetupIntentCreateParams = {"customer": customer, "usage": "off_session"}
            intent = self.client.v1.setup_intents.create(params=params)
        except stripe.StripeError as err:
            raise GatewayError(f"Stripe refused the setup: {err.user_message or err}") from err
        return SetupSession(str(intent.id), str(intent.client_secret))

    def method_from_setup_intent(self, setup_intent_id: str) -> SavedMethod:
        """The method a confirmed SetupIntent saved."""
        try:
            intent = self.client.v1.setup_intents.retrieve(setup_intent_id)
            if _get(intent, "status") != "succeeded":
                raise PaymentMethodRefused(f"the card was not saved (status {intent.status})")
            method_id = _id_of(_get(intent, "payment_method"))
            if method_id is None:
                raise PaymentMethodRefused("the SetupIntent has no payment method")
            return self._saved(self.client.v1.payment_methods.retrieve(method_id))
        except stripe.StripeError as err:
            raise GatewayError(f"Stripe: {err.user_message or err}") from err

    @staticmethod
    def _saved(method: Any) -> SavedMethod:
        card = _get(method, "card")
        return SavedMethod(
            token=str(_get(method, "id")),
            brand=str(_get(card, "brand") or "unknown"),
            last4=str(_get(card, "last4") or ""),
            exp_month=int(_get(card, "exp_month") or 0),
            exp_year=int(_get(card, "exp_year") or 0),
        )

    def detach_method(self, *, token: str) -> None:
        try:
            self.client.v1.payment_methods.detach(token)
        except stripe.StripeError as err:
            raise GatewayError(f"Stripe could not detach {token}: {err}") from err

    # -- charges ----------------------------------------------------------------------

    def charge(
        self,
        *,
        invoice_id: str,
        amount: int,
        currency: str,
        customer: str,
        method: str,
        idempotency_key: str,
    ) -> ChargeResult:
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise GatewayError(f"a charge is a positive whole number of minor units, not {amount}")
        code = stripe_currency(currency)
        result = ChargeResult(ChargeStatus.ERROR, None, amount, code.upper(), idempotency_key)
        try:
            intent = self.client.v1.payment_intents.create(
                params={
                    "amount": amount,
                    "currency": code,
                    "customer": customer,
                    "payment_method": method,
                    "off_session": True,
                    "confirm": True,
                    "metadata": {"invoice_id": str(invoice_id)},
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.CardError as err:
            return self._declined(result, err)
        except stripe.IdempotencyError as err:
            raise IdempotencyConflict(str(err.user_message or err)) from err
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as err:
            return _replace(result, raw_code=type(err).__name__, raw_message=str(err))
        except stripe.StripeError as err:
            raise GatewayError(f"Stripe refused the charge: {err.user_message or err}") from err
        return self._from_intent(result, intent)

    @staticmethod
    def _declined(result: ChargeResult, err: stripe.CardError) -> ChargeResult:
        error = err.error
        code = _get(error, "code") or err.code
        decline_code = _get(error, "decline_code")
        reason = decline_reason_from_codes(code, decline_code)
        intent_id = _id_of(_get(error, "payment_intent"))
        status = (
            ChargeStatus.REQUIRES_ACTION
            if reason is DeclineReason.AUTHENTICATION_REQUIRED
            else ChargeStatus.DECLINED
        )
        return _replace(
            result,
            status=status,
            charge_id=intent_id,
            decline_reason=reason,
            raw_code=code,
            raw_decline_code=decline_code,
            raw_message=_get(error, "message") or str(err),
        )

    @staticmethod
    def _from_intent(result: ChargeResult, intent: Any) -> ChargeResult:
        status = _get(intent, "status")
        charge_id = _id_of(intent)
        if status == "succeeded":
            return _replace(result, status=ChargeStatus.SUCCEEDED, charge_id=charge_id)
        if status == "requires_action":
            return _replace(
                result,
                status=ChargeStatus.REQUIRES_ACTION,
                charge_id=charge_id,
                decline_reason=DeclineReason.AUTHENTICATION_REQUIRED,
                raw_code="authentication_required",
            )
        error = _get(intent, "last_payment_error")
        if status == "requires_payment_method" and error is not None:
            code, decline_code = _get(error, "code"), _get(error, "decline_code")
            return _replace(
                result,
                status=ChargeStatus.DECLINED,
                charge_id=charge_id,
                decline_reason=decline_reason_from_codes(code, decline_code),
                raw_code=code,
                raw_decline_code=decline_code,
                raw_message=_get(error, "message"),
            )
        # processing, or anything new: the outcome arrives later by webhook
        return _replace(result, charge_id=charge_id, raw_code=str(status))

    # -- refunds ----------------------------------------------------------------------

    def refund(
        self, *, charge_id: str, amount: int | None = None, idempotency_key: str
    ) -> RefundResult:
        params: RefundCreateParams = {"payment_intent": charge_id}
        if amount is not None:
            params["amount"] = amount
        try:
            refund = self.client.v1.refunds.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        except stripe.IdempotencyError as err:
            raise IdempotencyConflict(str(err.user_message or err)) from err
        except stripe.StripeError as err:
            raise GatewayError(f"Stripe refused the refund: {err.user_message or err}") from err
        return RefundResult(
            refund_id=str(refund.id),
            charge_id=charge_id,
            amount=int(refund.amount),
            currency=str(refund.currency).upper(),
            status=str(refund.status),
        )

    # -- webhooks ---------------------------------------------------------------------

    def parse_webhook(self, payload: bytes, signature_header: str) -> WebhookEvent:
        try:
            stripe.Webhook.construct_event(
                payload, signature_header, self.webhook_secret, tolerance=self.webhook_tolerance_s
            )
        except stripe.SignatureVerificationError as err:
            raise WebhookVerificationError(
                f"bad Stripe signature: {err.user_message or err}"
            ) from err
        except ValueError as err:
            raise WebhookVerificationError(f"not an event body: {err}") from err
        try:
            body = json.loads(payload)
            obj = body["data"]["object"]
            return event_from_stripe_shape(body["id"], body["type"], body["created"], obj, body)
        except (ValueError, KeyError, TypeError) as err:
            raise WebhookVerificationError(f"not an event body: {err}") from None
