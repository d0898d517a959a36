"""Orders: hospital orders with pseudonymous references, the validation queue, order lines.

The pure rules (status machine as data, reference checks, validation checklist, the planner's
activity arithmetic) live in `domain.py`.
"""
