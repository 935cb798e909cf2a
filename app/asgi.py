"""The ASGI entry point uvicorn imports in each worker process (`app.asgi:create`)."""

from __future__ import annotations

import gc

from starlette.applications import Starlette

from app.logs import configure_logging
from app.main import create_app
from app.settings import get_settings

# A GraphQL response allocates tens of thousands of short-lived objects; collecting the young
# generation every 700 allocations (the default) spent a large share of each request in the
# collector. Fewer, larger young collections measured faster (see docs/benchmarks.md).
GC_THRESHOLDS = (100_000, 20, 100)


def create() -> Starlette:
    settings = get_settings()
    configure_logging(settings.log_level)
    app = create_app(settings)
    gc.set_threshold(*GC_THRESHOLDS)
    # Everything imported so far lives for the whole process: keep it out of every collection.
    gc.collect()
    gc.freeze()
    return app
