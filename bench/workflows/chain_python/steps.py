def noop(project_data, prerequisites):
    """Does nothing, as test_plugins.noop.noop does in C: what a Python step costs around its
    function."""
    return {}
