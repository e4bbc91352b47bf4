"""Talking to the hub: sign-in, slices and their change feed, images, audit upload."""
