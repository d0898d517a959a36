"""The house rules of ARCHITECTURE.md that a machine can check."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = ROOT / "app" / "domain"

# Pure rules must not reach for the web framework or the database.
FORBIDDEN_IN_DOMAIN = ("flask", "flask_appbuilder", "flask_sqlalchemy", "flask_wtf", "sqlalchemy", "werkzeug")


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.ImportFrom) and node.level > 1:
            # a relative import that climbs out of app.domain
            found.append((node.lineno, "." * node.level + (node.module or "")))
    return found


def _violations() -> list[str]:
    problems = []
    for path in sorted(DOMAIN.rglob("*.py")):
        for lineno, module in _imports(path):
            root = module.split(".")[0]
            rel = path.relative_to(ROOT)
            if root in FORBIDDEN_IN_DOMAIN:
                problems.append(f"{rel}:{lineno} imports {module}")
            elif module.startswith(".."):
                problems.append(f"{rel}:{lineno} imports {module} (outside app.domain)")
            elif root == "app" and not (module == "app.domain" or module.startswith("app.domain.")):
                # app.models, app.services, app.extensions ... all pull in Flask or SQLAlchemy
                problems.append(f"{rel}:{lineno} imports {module} (outside app.domain)")
    return problems


def test_domain_imports_nothing_from_flask_fab_or_sqlalchemy():
    assert DOMAIN.is_dir()
    assert _violations() == []


def test_the_import_check_catches_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import sqlalchemy.orm\nfrom flask import g\nfrom app.models import x\n")
    assert [m for _, m in _imports(bad)] == ["sqlalchemy.orm", "flask", "app.models"]


def _readme_test_command() -> str:
    readme = (ROOT / "README.md").read_text()
    blocks = [b.split("```", 1)[0].strip() for b in readme.split("```sh\n")[1:]]
    (command,) = [b for b in blocks if "pytest" in b]
    return command


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _readme_test_command() in ci
