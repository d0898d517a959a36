"""Pure rules of this part: no Flask, no SQLAlchemy (tests/test_architecture.py enforces it)."""
