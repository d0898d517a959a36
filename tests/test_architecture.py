"""The house rules of ARCHITECTURE.md that a machine can check, by reading imports with `ast`.

1. Pure modules (any module named `domain` or under a `domain` folder) import no web framework and no
   database library, and from `app` only other pure modules.
2. Parts are ordered (`app.PARTS`, lowest first); a module of a part imports only its own part and
   parts below it, lazy imports inside functions included.
3. No import circle between parts.
Each check has a test that plants a violation and proves the check sees it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"

# Pure rules must not reach for the web framework or the database.
FORBIDDEN_IN_DOMAIN = ("flask", "flask_appbuilder", "flask_sqlalchemy", "flask_wtf", "sqlalchemy", "werkzeug")
KIND_FOLDERS = ("domain", "services", "models", "api", "views", "reports")


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            if node.module == "app":  # `from app import qc` names a part
                found += [(node.lineno, f"app.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            found.append((node.lineno, "." * node.level + (node.module or "")))
    return found


def _module_name(path: Path, app_dir: Path) -> str:
    rel = path.relative_to(app_dir.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_pure(module: str) -> bool:
    return "domain" in module.split(".")


def _parts(app_dir: Path) -> tuple[str, ...]:
    """`PARTS` as written in app/__init__.py (read, not imported)."""
    tree = ast.parse((app_dir / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "PARTS" for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    raise AssertionError("app/__init__.py has no PARTS")


def _part_of(module: str, parts: tuple[str, ...]) -> str | None:
    bits = module.split(".")
    return bits[1] if len(bits) > 1 and bits[0] == "app" and bits[1] in parts else None


def domain_violations(app_dir: Path = APP) -> list[str]:
    problems = []
    for path in sorted(app_dir.rglob("*.py")):
        module = _module_name(path, app_dir)
        if not _is_pure(module):
            continue
        for lineno, imported in _imports(path):
            root = imported.split(".")[0]
            where = f"{module}:{lineno} imports {imported}"
            if root in FORBIDDEN_IN_DOMAIN:
                problems.append(where)
            elif imported.startswith(".") or (root == "app" and not _is_pure(imported)):
                problems.append(f"{where} (not a pure module)")
    return problems


def layer_violations(app_dir: Path = APP) -> list[str]:
    parts = _parts(app_dir)
    rank = {p: i for i, p in enumerate(parts)}
    problems = []
    for path in sorted(app_dir.rglob("*.py")):
        module = _module_name(path, app_dir)
        own = _part_of(module, parts)
        if own is None:
            continue  # app/__init__.py, app/cli.py, app/models.py, app/jobs: the composition roots
        for lineno, imported in _imports(path):
            other = _part_of(imported, parts)
            if other is not None and rank[other] > rank[own]:
                problems.append(f"{module}:{lineno} imports {imported} ({other} is above {own})")
    return problems


def part_graph(app_dir: Path = APP) -> dict[str, set[str]]:
    parts = _parts(app_dir)
    graph: dict[str, set[str]] = {p: set() for p in parts}
    for path in sorted(app_dir.rglob("*.py")):
        own = _part_of(_module_name(path, app_dir), parts)
        if own is None:
            continue
        for _, imported in _imports(path):
            other = _part_of(imported, parts)
            if other is not None and other != own:
                graph[own].add(other)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle between parts (as a path that returns to its start), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


# --- the rules hold for the code -----------------------------------------------------------------
def test_domain_modules_import_nothing_from_flask_fab_sqlalchemy_or_impure_app_modules():
    assert any(_is_pure(_module_name(p, APP)) for p in APP.rglob("*.py"))
    assert domain_violations() == []


def test_no_part_imports_a_part_above_it():
    assert layer_violations() == []


def test_no_import_circle_between_parts():
    assert find_cycle(part_graph()) is None


def test_batches_does_not_import_qc():
    assert "qc" not in part_graph()["batches"]


def test_the_kind_folders_are_gone_and_every_part_is_a_package():
    assert [k for k in KIND_FOLDERS if (APP / k).exists()] == []
    for part in ("core", "security", "audit", "notifications", "masterdata", "batches", "qc", "release"):
        assert (APP / part / "__init__.py").is_file(), part


# --- each check sees a planted violation ---------------------------------------------------------
def _plant(tmp_path: Path, files: dict[str, str]) -> Path:
    app_dir = tmp_path / "app"
    (app_dir).mkdir()
    (app_dir / "__init__.py").write_text((APP / "__init__.py").read_text())
    for rel, text in files.items():
        path = app_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return app_dir


def test_the_domain_check_catches_flask_in_a_domain_module(tmp_path):
    app_dir = _plant(
        tmp_path, {"qc/domain/rules.py": "from flask import g\n", "batches/domain.py": "x = 1\n"}
    )
    assert domain_violations(app_dir) == ["app.qc.domain.rules:1 imports flask"]


def test_the_domain_check_catches_an_impure_app_import_in_a_domain_module(tmp_path):
    app_dir = _plant(tmp_path, {"batches/domain.py": "def f():\n    from app.batches import models\n"})
    assert domain_violations(app_dir) == ["app.batches.domain:2 imports app.batches (not a pure module)"]


def test_the_layer_check_catches_batches_importing_qc(tmp_path):
    app_dir = _plant(tmp_path, {"batches/service.py": "def f():\n    from app.qc import service\n"})
    assert layer_violations(app_dir) == ["app.batches.service:2 imports app.qc (qc is above batches)"]


def test_the_layer_check_catches_from_app_import_part(tmp_path):
    app_dir = _plant(tmp_path, {"core/web.py": "from app import release\n"})
    assert layer_violations(app_dir) == ["app.core.web:1 imports app.release (release is above core)"]


def test_the_cycle_check_catches_a_circle():
    assert find_cycle({"batches": {"qc"}, "qc": {"release"}, "release": {"batches"}}) == [
        "batches",
        "qc",
        "release",
        "batches",
    ]
    assert find_cycle({"qc": {"batches"}, "batches": {"core"}, "core": set()}) is None


def test_the_import_reader_sees_lazy_and_relative_imports(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import sqlalchemy.orm\nfrom flask import g\ndef f():\n    from app.qc import x\nfrom ..y import z\n"
    )
    assert sorted(m for _, m in _imports(bad)) == ["..y", "app.qc", "flask", "sqlalchemy.orm"]


def _readme_test_command() -> str:
    readme = (ROOT / "README.md").read_text()
    blocks = [b.split("```", 1)[0].strip() for b in readme.split("```sh\n")[1:]]
    (command,) = [b for b in blocks if "pytest" in b]
    return command


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _readme_test_command() in ci
