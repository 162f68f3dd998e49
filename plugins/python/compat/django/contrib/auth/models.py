"""User and Group as sample-data load functions use them (orchestra._compat records the
changes; orchestrad writes them when the function returns)."""

from orchestra._compat import make_password, session
from orchestra.models import Manager, ObjectDoesNotExist, Model

# The fields a load function may set; others are kept on the object only.
USER_FIELDS = ("first_name", "last_name", "email", "is_active", "is_staff", "is_superuser")
PROJECT_ADMINS = "project_admins"


class _Groups:
    """user.groups / group.user_set: only membership of project_admins means something here."""

    def __init__(self, user=None, group=None):
        self.user, self.group = user, group

    def add(self, *objs):
        for obj in objs:
            user, group = (self.user, obj) if self.user is not None else (obj, self.group)
            if group.name == PROJECT_ADMINS:
                session().entry(user.username)["project_admin"] = True

    def remove(self, *objs):
        for obj in objs:
            user, group = (self.user, obj) if self.user is not None else (obj, self.group)
            if group.name == PROJECT_ADMINS:
                session().entry(user.username)["project_admin"] = False


class UserManager(Manager):
    def _exists(self, lookup):
        return session().exists(lookup.get("username", ""))

    def _load(self, lookup):
        return User(username=lookup["username"], _saved=True)

    def create_user(self, username, email=None, password=None, **extra):
        user = User(username=username, email=email or "", **extra)
        if password is not None:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        return user

    def create_superuser(self, username, email=None, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(username, email, password, **extra)


class User(Model):
    DoesNotExist = type("DoesNotExist", (ObjectDoesNotExist,), {})
    _lookups = ("username",)

    def __init__(self, username="", _saved=False, **fields):
        # Only what the function sets is recorded: an existing user keeps the rest.
        object.__setattr__(self, "_fields", {})
        object.__setattr__(self, "username", username)
        object.__setattr__(self, "groups", _Groups(user=self))
        object.__setattr__(self, "_saved", _saved)
        for key, value in fields.items():
            setattr(self, key, value)

    def __setattr__(self, key, value):
        if key in USER_FIELDS or key == "password":
            self.__dict__.setdefault("_fields", {})[key] = value
        object.__setattr__(self, key, value)

    def __getattr__(self, key):
        if key in USER_FIELDS or key == "password":
            return {"is_active": True}.get(key, False if key.startswith("is_") else "")
        raise AttributeError(key)

    def set_password(self, raw):
        self.password = make_password(raw)

    def set_unusable_password(self):
        self.password = ""

    def has_usable_password(self):
        return bool(self.password)

    def save(self, *args, **kwargs):
        if not self.username:
            raise ValueError("a user needs a username")
        entry = session().entry(self.username)
        for key, value in self._fields.items():
            if key == "password" or key in ("first_name", "last_name", "email"):
                entry["fields"][key] = str(value if value is not None else "")
            else:
                entry["fields"][key] = bool(value)
        object.__setattr__(self, "_saved", True)

    def __str__(self):
        return self.username


User.objects = UserManager(User)


class GroupManager(Manager):
    def _exists(self, lookup):
        return lookup.get("name") == PROJECT_ADMINS

    def _load(self, lookup):
        return Group(name=lookup["name"])


class Group(Model):
    DoesNotExist = type("DoesNotExist", (ObjectDoesNotExist,), {})
    _lookups = ("name",)

    def __init__(self, name=""):
        self.name = name
        self.user_set = _Groups(group=self)

    def save(self, *args, **kwargs):
        pass

    def __str__(self):
        return self.name


Group.objects = GroupManager(Group)
