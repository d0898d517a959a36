"""/batches/states: how a batch moves, for the people who move it, and the order journey for hospitals.

Internal roles see three views of the transition table the system runs on (everything, the main
path, or one state and the moves out of it) and the table in words: who may act, what it needs,
what is checked, what it changes. Hospital users see the steps of their order's journey in plain
words, never the internal state machine. Mermaid renders in the browser from the vendored file
(app/static/vendor/mermaid-11.12.0), never from a CDN.
"""

from __future__ import annotations

from flask import request
from flask_appbuilder import BaseView, expose, has_access

from app.batches.domain import diagram as batch_diagram
from app.batches.domain.flow import TRANSITIONS
from app.batches.domain.states import EXCEPTION_STATES, FINAL_STATES, STATE_LABELS, STATES
from app.batches.queries import viewer_for
from app.core.actor import current_actor

VIEWS = {"main": "Main path", "all": "Every transition"}

# What each check of the transition table means, in the words of the people who run the batch.
GUARD_WORDS = {
    "qc_session_passed": "the batch's QC session has passed",
    "returns_to_prior_state": "only back to the step the batch was at before the hold or deviation",
}

# The hospital's view: what happens to an order, and who does it.
CUSTOMER_STEPS = (
    (
        "Reservation",
        "You hold dispensing minutes in a delivery window for a few minutes while you prepare the order.",
    ),
    (
        "Order",
        "You submit the doses (activity at your calibration time); our planners check your licence and the product.",
    ),
    ("Batch", "Your order is planned into a production batch, made early in the morning."),
    (
        "Release",
        "Quality control tests the batch and our Qualified Person releases it. If a batch is held or rejected, we tell you at once.",
    ),
    (
        "Dispensing",
        "Each dose is drawn so that it holds the ordered activity at your calibration time, and labelled.",
    ),
    ("Shipping", "Doses are packed in shielded packages and handed to the courier."),
    ("Delivery", "Your team confirms receipt; the order is complete."),
)


class BatchStatesView(BaseView):
    route_base = "/batches"
    default_view = "states"
    class_permission_name = "Batch"
    method_permission_name = {"states": "read"}

    @expose("/states")
    @has_access
    def states(self):
        if viewer_for(current_actor()).restricted:
            return self.render_template("batches/journey_steps.html", steps=CUSTOMER_STEPS)
        focus = request.args.get("state", "").upper() or None
        if focus not in STATES:
            focus = None
        view = request.args.get("view", "main")
        view = view if view in VIEWS else "main"
        text = batch_diagram.mermaid(focus=focus, main_path_only=view == "main" and focus is None)
        rows = sorted(
            (t for t in TRANSITIONS if focus is None or t.source == focus),
            key=lambda t: STATES.index(t.source),
        )
        return self.render_template(
            "batches/states.html",
            diagram=text,
            focus=focus,
            view=view,
            views=VIEWS,
            rows=rows,
            states=STATES,
            labels=STATE_LABELS,
            exception_states=EXCEPTION_STATES,
            final_states=FINAL_STATES,
            guard_words=GUARD_WORDS,
        )


def register(appbuilder) -> None:
    appbuilder.add_view(
        BatchStatesView,
        "State machine",
        icon="fa-project-diagram",
        category="Batches",
        category_icon="fa-flask",
    )
