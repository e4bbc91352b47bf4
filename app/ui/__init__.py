"""The PySide6 user interface: windows, dialogs, widgets, models and workers.

Nothing outside `app.main` imports this package.
"""
