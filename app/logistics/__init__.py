"""Logistics: packages, transport index and category, UN numbers, shipments, chain of custody, delivery.

The pure rules live in `app.logistics.domain`; services, models and pages of this part build on them.
"""
