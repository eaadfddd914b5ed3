"""Notifications: in the panel and by email today; webhooks, preferences and a delivery log next."""
