"""The hub: members, plans, billing, dunning and the access lists every gate enforces.

* :mod:`hub.billing` — plans, subscriptions, invoices, payment gateways, the billing run.
* :mod:`hub.dunning` — recovering failed payments: retries, reminders, suspension.
"""
