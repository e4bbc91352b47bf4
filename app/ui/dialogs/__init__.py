"""Dialogs: sign-in and slice requests."""
