"""The public portal's pages, built as plain HTML strings (no JavaScript)."""
