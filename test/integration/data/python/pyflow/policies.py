def when_flag(prerequisites, project_data, flag=None):
    """Create the step only when the project's data sets the flag (and crawl found an
    image)."""
    return bool(project_data.get(flag)) and prerequisites['crawl']['status'] == 'success'
