"""Upstream's built-in creation policy. orchestrad runs always_create itself (it never asks an
executor for it); it is here so that code importing it finds it."""


def always_create(prerequisites, project_data, **kwargs):
    """Create the task, whatever the data says."""
    return True
