"""The encrypted cache (SQLCipher): reads, slices, images and the audit journal."""
