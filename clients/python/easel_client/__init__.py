"""A small typed client for Easel, over gRPC (Unix socket or TCP)."""

from .client import EaselClient, EaselError, Task, TaskStatus, TaskUpdate

__all__ = ["EaselClient", "EaselError", "Task", "TaskStatus", "TaskUpdate"]
