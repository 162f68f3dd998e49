import os
import time


def slow(project_data, prerequisites):
    """The first call writes its process id and waits (the test kills that process); the
    retry finds the file and returns which process ran it."""
    marker = project_data['marker']
    if os.path.exists(marker):
        return {'retried': True, 'first_pid': int(open(marker).read()), 'pid': os.getpid()}
    with open(marker + '.tmp', 'w') as f:
        f.write(str(os.getpid()))
    os.rename(marker + '.tmp', marker)
    time.sleep(600)
    return {'retried': False}
