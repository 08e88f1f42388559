"""Object ids: unique per worker (pid + counter), cheap, and shaped like the real ones."""

from __future__ import annotations

import itertools
import os

_counter = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}mock{os.getpid():x}n{next(_counter):06x}"
