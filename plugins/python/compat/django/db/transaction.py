"""transaction.atomic: a load function's whole record is written in one transaction anyway
(orchestra._compat), so an inner atomic block has nothing more to do."""

import contextlib
import functools


class _Atomic(contextlib.ContextDecorator):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def atomic(using=None, savepoint=True):
    if callable(using):  # used as @atomic without parentheses
        fn = using

        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            return fn(*args, **kwargs)
        return wrapped
    return _Atomic()
