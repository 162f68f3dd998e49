from django.db import transaction  # noqa: F401  (upstream code uses django.db.transaction)
