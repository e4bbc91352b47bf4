"""Running blocking work off the GUI thread."""

from app.ui.workers.task_runner import Lane, TaskRunner

__all__ = ["Lane", "TaskRunner"]
