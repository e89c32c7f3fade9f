"""Webhooks (DESIGN 8, Standard Webhooks 1.0): subscriptions per organization, fan-out from the event spine,
signed deliveries retried for over 24 h, a delivery log with redelivery, and an SSRF guard."""
