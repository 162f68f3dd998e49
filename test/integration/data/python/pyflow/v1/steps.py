def greet(project_data, prerequisites, greeting='hi', times=1):
    image = prerequisites['crawl']['image']
    return {
        'text': ' '.join([greeting] * times),
        'image': image,
        'project_id': project_data['project_id'],
    }


def extra(project_data, prerequisites):
    return {'extra': True, 'seen': sorted(prerequisites)}
