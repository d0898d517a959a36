"""/batches/states: the batch state machine drawn from the code (mermaid text from GraphMachine).

Three views of the same transition table: everything, the main path only, or one state and the
moves out of it; below them the table itself in words. Mermaid renders in the browser from the
vendored file (app/static/vendor/mermaid-11.12.0), never from a CDN.
"""

from __future__ import annotations

from flask import request
from flask_appbuilder import BaseView, expose, has_access

from app.batches.domain import diagram as batch_diagram
from app.batches.domain.flow import TRANSITIONS
from app.batches.domain.states import EXCEPTION_STATES, FINAL_STATES, STATE_LABELS, STATES

VIEWS = {"main": "Main path", "all": "Every transition"}


class BatchStatesView(BaseView):
    route_base = "/batches"
    default_view = "states"
    class_permission_name = "Batch"
    method_permission_name = {"states": "read"}

    @expose("/states")
    @has_access
    def states(self):
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
        )


def register(appbuilder) -> None:
    appbuilder.add_view(
        BatchStatesView,
        "State machine",
        icon="fa-project-diagram",
        category="Batches",
        category_icon="fa-flask",
    )
