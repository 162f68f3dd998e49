"""orchestra.models as sample-data load functions use them: Worker, Certification and
WorkerCertification, with the managers' get, create, get_or_create, update_or_create and
filter(...).exists() / first(). Changes are recorded (orchestra._compat) and written by
orchestrad when the function returns; reads answer from what orchestrad sent with the job.
"""

from orchestra._compat import session


class ObjectDoesNotExist(Exception):
    pass


class MultipleObjectsReturned(Exception):
    pass


class Model:
    _lookups = ()

    @property
    def pk(self):
        return getattr(self, "id", None)


class QuerySet:
    def __init__(self, manager, lookup):
        self.manager, self.lookup = manager, lookup

    def exists(self):
        return self.manager._exists(self.manager._lookup(self.lookup))

    def first(self):
        return self.manager._load(self.manager._lookup(self.lookup)) if self.exists() else None

    def count(self):
        return 1 if self.exists() else 0

    def __iter__(self):
        return iter([self.first()] if self.exists() else [])


class Manager:
    """The part of Django's manager that load functions call, over one record per lookup."""

    def __init__(self, model):
        self.model = model

    def _lookup(self, kwargs):
        unknown = set(kwargs) - set(self.model._lookups)
        if unknown:
            raise NotImplementedError("%s lookups by %s are not supported here"
                                      % (self.model.__name__, ", ".join(sorted(unknown))))
        return dict(kwargs)

    def _exists(self, lookup):
        raise NotImplementedError

    def _load(self, lookup):
        raise NotImplementedError

    def get(self, **kwargs):
        lookup = self._lookup(kwargs)
        if not self._exists(lookup):
            raise self.model.DoesNotExist("%s matching query does not exist."
                                          % self.model.__name__)
        return self._load(lookup)

    def filter(self, **kwargs):
        return QuerySet(self, kwargs)

    def create(self, **kwargs):
        obj = self.model(**kwargs)
        obj.save()
        return obj

    def get_or_create(self, defaults=None, **kwargs):
        lookup = self._lookup(kwargs)
        if self._exists(lookup):
            return self._load(lookup), False
        return self.create(**dict(kwargs, **(defaults or {}))), True

    def update_or_create(self, defaults=None, **kwargs):
        lookup = self._lookup(kwargs)
        if not self._exists(lookup):
            return self.create(**dict(kwargs, **(defaults or {}))), True
        obj = self._load(lookup)
        for key, value in (defaults or {}).items():
            setattr(obj, key, value)
        obj.save()
        return obj, False


# ---- Worker ---------------------------------------------------------------------------------


class WorkerManager(Manager):
    def _exists(self, lookup):
        user = lookup.get("user")
        return user is not None and session().is_worker(user.username)

    def _load(self, lookup):
        return Worker(user=lookup["user"])


class Worker(Model):
    DoesNotExist = type("DoesNotExist", (ObjectDoesNotExist,), {})
    _lookups = ("user",)

    def __init__(self, user=None, **fields):
        self.user = user
        for key, value in fields.items():
            setattr(self, key, value)

    def save(self, *args, **kwargs):
        if self.user is None:
            raise ValueError("a worker needs a user")
        session().entry(self.user.username)["worker"] = True

    def __str__(self):
        return self.user.username if self.user is not None else ""


Worker.objects = WorkerManager(Worker)


# ---- Certification -----------------------------------------------------------------------------


class CertificationManager(Manager):
    def _exists(self, lookup):
        return lookup.get("slug") in session().certifications

    def _load(self, lookup):
        c = session().certifications[lookup["slug"]]
        return Certification(slug=c["slug"], name=c.get("name", ""),
                             description=c.get("description", ""),
                             workflow=session().workflow_version.workflow)


class Certification(Model):
    DoesNotExist = type("DoesNotExist", (ObjectDoesNotExist,), {})
    _lookups = ("slug", "workflow")

    def __init__(self, slug="", name="", description="", workflow=None, **fields):
        self.slug, self.name, self.description, self.workflow = slug, name, description, workflow

    def save(self, *args, **kwargs):
        raise NotImplementedError("certifications come from workflow.json "
                                  "(orchestra workflow load)")

    def __str__(self):
        return self.slug


Certification.objects = CertificationManager(Certification)


# ---- WorkerCertification ---------------------------------------------------------------------


class WorkerCertificationManager(Manager):
    def _exists(self, lookup):
        worker, cert = lookup.get("worker"), lookup.get("certification")
        if worker is None or cert is None:
            return False
        entry = session().users.get(worker.user.username) or {}
        want = WorkerCertification._entry(cert, lookup.get("task_class"), lookup.get("role"))
        return want in entry.get("certifications", [])

    def _load(self, lookup):
        return WorkerCertification(**lookup)


class WorkerCertification(Model):
    DoesNotExist = type("DoesNotExist", (ObjectDoesNotExist,), {})
    _lookups = ("certification", "worker", "task_class", "role")

    class TaskClass:
        TRAINING = 0
        REAL = 1

    class Role:
        ENTRY_LEVEL = 0
        REVIEWER = 1

    def __init__(self, certification=None, worker=None, task_class=TaskClass.REAL,
                 role=Role.ENTRY_LEVEL, **fields):
        self.certification, self.worker = certification, worker
        self.task_class, self.role = task_class, role

    @staticmethod
    def _entry(certification, task_class, role):
        return {"certification": certification.slug,
                "role": "reviewer" if role == WorkerCertification.Role.REVIEWER else "entry_level",
                "task_class": "training" if task_class == WorkerCertification.TaskClass.TRAINING
                else "real"}

    def save(self, *args, **kwargs):
        if self.worker is None or self.certification is None:
            raise ValueError("a worker certification needs a worker and a certification")
        entry = session().entry(self.worker.user.username)
        cert = self._entry(self.certification, self.task_class, self.role)
        certs = entry.setdefault("certifications", [])
        if cert not in certs:
            certs.append(cert)


WorkerCertification.objects = WorkerCertificationManager(WorkerCertification)
