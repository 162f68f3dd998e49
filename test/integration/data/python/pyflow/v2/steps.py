def check(value):
    if value is None:
        raise ValueError('kaboom')
    return value


def boom(project_data, prerequisites):
    return {'never': check(project_data.get('missing'))}


def returns_set(project_data, prerequisites):
    return {'a', 'b'}
