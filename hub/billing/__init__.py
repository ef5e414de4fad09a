"""Billing: plans, subscriptions, invoices and payment gateways."""
