from django.contrib.auth.models import Group
from django.contrib.auth.models import User

from orchestra.models import Certification
from orchestra.models import Worker
from orchestra.models import WorkerCertification


def load(workflow_version):
    """Loads the workers of the Python flow."""
    for user_data in USERS:
        user_data = dict(user_data)
        username = user_data.pop('username')
        password = user_data.pop('password')
        certifications = user_data.pop('certifications')
        user, _ = User.objects.update_or_create(username=username, defaults=user_data)
        user.set_password(password)
        user.save()
        worker, _ = Worker.objects.update_or_create(user=user)
        for certification_slug, certification_role in certifications:
            certification = Certification.objects.get(slug=certification_slug)
            WorkerCertification.objects.update_or_create(
                certification=certification,
                worker=worker,
                task_class=WorkerCertification.TaskClass.REAL,
                role=certification_role)
    admins, _ = Group.objects.get_or_create(name='project_admins')
    admins.user_set.add(User.objects.get(username='py-lead'))


USERS = [
    {
        'username': 'py-writer',
        'first_name': 'Python',
        'last_name': 'Writer',
        'is_active': True,
        'is_superuser': False,
        'is_staff': False,
        'email': 'noreply-py1@example.org',
        'password': 'writer',
        'certifications': [('writer', WorkerCertification.Role.ENTRY_LEVEL)],
    },
    {
        'username': 'py-lead',
        'first_name': 'Python',
        'last_name': 'Lead',
        'is_active': True,
        'is_superuser': False,
        'is_staff': True,
        'email': 'noreply-py2@example.org',
        'password': 'lead',
        'certifications': [('writer', WorkerCertification.Role.ENTRY_LEVEL),
                           ('writer', WorkerCertification.Role.REVIEWER)],
    },
]
