"""Saved Views of the batch list: save the current filters under a name, apply, rename, delete.

POST /batches/views                 save (name, query)          can_read on Batch
GET  /batches/views/<id>            apply: open the list with the view's filters
POST /batches/views/<id>/rename     rename (name)
POST /batches/views/<id>/delete     delete
Each user sees and changes only their own views (app/batches/saved_views.py).
"""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access

from app.batches import saved_views


def _list(query: str = "") -> str:
    base = url_for("BatchPagesView.index")
    return f"{base}?{query}" if query else base


class BatchSavedViewsView(BaseView):
    route_base = "/batches/views"
    class_permission_name = "Batch"
    method_permission_name = {"save": "read", "apply": "read", "rename": "read", "delete": "read"}

    @expose("", methods=["POST"])
    @expose("/", methods=["POST"])
    @has_access
    def save(self):
        view = saved_views.save_view(g.user.id, request.form.get("name", ""), request.form.get("query", ""))
        flash(f"Saved view “{view.name}” created.", "success")
        return redirect(f"{_list(view.query)}{'&' if view.query else '?'}view={view.id}")

    @expose("/<int:view_id>")
    @has_access
    def apply(self, view_id: int):
        view = saved_views.get_view(g.user.id, view_id)
        return redirect(f"{_list(view.query)}{'&' if view.query else '?'}view={view.id}")

    @expose("/<int:view_id>/rename", methods=["POST"])
    @has_access
    def rename(self, view_id: int):
        view = saved_views.rename_view(g.user.id, view_id, request.form.get("name", ""))
        flash(f"Saved view renamed to “{view.name}”.", "success")
        return redirect(f"{_list(view.query)}{'&' if view.query else '?'}view={view.id}")

    @expose("/<int:view_id>/delete", methods=["POST"])
    @has_access
    def delete(self, view_id: int):
        name = saved_views.delete_view(g.user.id, view_id)
        flash(f"Saved view “{name}” deleted.", "success")
        return redirect(_list())


def register(appbuilder) -> None:
    appbuilder.add_view_no_menu(BatchSavedViewsView)
