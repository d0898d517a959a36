"""Demo users, one per role, all with DEMO_PASSWORD (a documented default for the demo only)."""

from __future__ import annotations

from flask import current_app

from app.audit import service as audit
from app.core.actor import SYSTEM

DEMO_USERS = (
    # username, first name, last name, role
    ("admin", "Amal", "Haddad", "Admin"),
    ("planner", "Omar", "Farouk", "Planner"),
    ("prod", "Lina", "Saleh", "Production"),
    ("qc", "Yusuf", "Karim", "QC Analyst"),
    ("qcreview", "Huda", "Nasser", "QC Reviewer"),
    ("qcmanager", "Rami", "Aziz", "QC Manager"),
    ("qp", "Dr. Sara", "Mansour", "QP"),
    ("disp", "Khalid", "Rahman", "Dispensing"),
    ("logi", "Faisal", "Tamimi", "Logistics"),
    ("hospital", "Nadia", "Qasim", "Customer"),
    ("auditor", "Peter", "Lang", "Auditor"),
)


def seed() -> dict[str, int]:
    sm = current_app.appbuilder.sm
    password = current_app.config["DEMO_PASSWORD"]
    created = 0
    for username, first, last, role_name in DEMO_USERS:
        if sm.find_user(username=username):
            continue
        role = sm.find_role(role_name)
        user = sm.add_user(username, first, last, f"{username}@demo.radiopharma.example", role, password)
        if not user:
            raise RuntimeError(f"could not create demo user {username}")
        audit.record(
            "User",
            user.id,
            "CREATE",
            after={"username": username, "name": f"{first} {last}", "roles": [role_name]},
            reason="Demo seed",
            actor=SYSTEM,
        )
        created += 1
    sm.session.commit()
    return {"users": created}
