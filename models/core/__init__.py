"""Written once, used everywhere: the concerns every domain module shares (see LAYOUT.md)."""
