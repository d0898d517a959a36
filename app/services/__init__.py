"""One function per business action; each owns its transaction (see ARCHITECTURE.md)."""
