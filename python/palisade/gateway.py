"""What one worker holds for its lifetime: the config, the router and the upstream pool."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from palisade.config import Config
from palisade.upstream.routing import Router


@dataclass(slots=True)
class Gateway:
    config: Config
    router: Router
    session: aiohttp.ClientSession
