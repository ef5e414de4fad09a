"""Usage billing: what members use at the door becomes what they pay.

* :mod:`hub.usage.plans` — plan kinds sold by use and their validation;
* :mod:`hub.usage.passes` — selling a plan to a member (pass + entitlement);
* :mod:`hub.usage.metering` — what the access list carries for metered members;
* :mod:`hub.usage.reconcile` — admitted check-ins to visits, across the site's gates;
* :mod:`hub.usage.invoicing` — pay-per-visit and overuse charges on invoices;
* :mod:`hub.usage.views` — visits used and remaining (console and member portal).
"""
