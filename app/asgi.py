"""The ASGI entry point uvicorn imports in each worker process (`app.asgi:create`)."""

from __future__ import annotations

from starlette.applications import Starlette

from app.main import create_app
from app.requests import configure_logging
from app.settings import get_settings


def create() -> Starlette:
    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings)
