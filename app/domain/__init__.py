"""Pure business rules: no Flask, no SQLAlchemy (a test enforces it)."""
