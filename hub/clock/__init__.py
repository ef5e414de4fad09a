"""The hub's time: the test clock kept in the database, and the due work it drives.

* :mod:`~hub.clock.manual` -- :class:`DatabaseClock`, a manual clock in the
  ``clockstate`` row, so ``gatehouse hub clock advance`` and a running server agree.
* :mod:`~hub.clock.hooks` -- the ordered list of work that falls due with time (the
  billing run, invoice emails, entitlement refresh; dunning registers its own).
* :mod:`~hub.clock.advance` -- move the clock day by day, running the due work at each
  step, like a Stripe test clock.
"""
