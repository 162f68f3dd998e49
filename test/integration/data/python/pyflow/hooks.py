def on_abort(project, marker='ended'):
    """Appends one line per call to the file the project names."""
    with open(project.project_data['hook_log'], 'a') as f:
        f.write('%s %s %s %s\n' % (marker, project.id, project.workflow_version.slug,
                                   project.short_description))
