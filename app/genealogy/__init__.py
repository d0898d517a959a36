"""Genealogy: the immutable edge table (lot -> batch -> dose unit -> shipment) and its traversals.

Lower parts only: the edges name their nodes by type and id, so this part needs nothing above it.
The acts that create a link (a material lot used by a batch, a dose drawn, a dose packed into a
shipment) live in the parts above and call `app.genealogy.service.record_edge` in their own
transaction. Pages and APIs that label the nodes are registered by logistics (the top of the chain).
"""
