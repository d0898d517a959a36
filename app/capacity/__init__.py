"""Capacity: resource calendars, delivery windows and slots, time standards, reservations.

The bottleneck is dispensing minutes. A window publishes a number of minutes; reservations
(holds that expire, confirmed bookings) consume them. The pure rules live in `domain.py`.
"""
