"""A stand-in for the few pieces of Django that upstream Orchestra's workflow code imports
(django.contrib.auth.models.User and Group, django.db.transaction, django.conf.settings), for
functions run by orchestra-executor's Python runner. It is first on the runner's sys.path, so
it shadows a real Django there: workflow code runs against orchestrad, not a Django database.
Written for Orchestra in C; nothing here is Django's code.
"""

VERSION = (0, 0, 0, "orchestra-compat", 0)
