"""GET /files/<token>: a stored file, streamed, for whoever holds a valid signed link.

The link (see `resolvers.jobs.downloads`) names one file and expires; a forged or malformed
one is 404, an expired one 403, each with a plain message. Responses are attachments, never
cached, in the file's own content type.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from resolvers.context import Services
from resolvers.jobs.downloads import BadDownloadToken, verify_download_token


def _disposition(name: str) -> str:
    ascii_name = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name
    )
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


async def download_file(request: Request) -> Response:
    services: Services = request.app.state.services
    headers = {"Cache-Control": "no-store"}
    try:
        file_id = verify_download_token(services.signer.key, request.path_params["token"])
    except BadDownloadToken as error:
        return PlainTextResponse(
            str(error), status_code=403 if error.expired else 404, headers=headers
        )
    stored = await services.files.describe(file_id)
    if stored is None:
        return PlainTextResponse(
            "This file no longer exists (files are kept for a limited time).",
            status_code=404,
            headers=headers,
        )
    return StreamingResponse(
        services.files.open(file_id),
        media_type=stored.content_type,
        headers={
            **headers,
            "Content-Disposition": _disposition(stored.name),
            "Content-Length": str(stored.size),
            "X-Content-Type-Options": "nosniff",
        },
    )
