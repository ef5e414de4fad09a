"""Dunning: retries, escalating reminders, suspension at the door and collections."""
