"""``/static/<name>``: the pages' stylesheet and the form-post script, nothing else.

The file set is fixed when the module loads (no path from the request ever reaches the file
system). Pages link them with ``?v=<content hash>``, so they may be cached for a day.
"""

from __future__ import annotations

import mimetypes
from importlib import resources

from fastapi import APIRouter
from starlette.exceptions import HTTPException
from starlette.responses import Response

router = APIRouter()

_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


def _load() -> dict[str, tuple[bytes, str]]:
    files: dict[str, tuple[bytes, str]] = {}
    for entry in resources.files("idp.ui").joinpath("static").iterdir():
        if entry.is_file() and not entry.name.startswith("."):
            suffix = "." + entry.name.rsplit(".", 1)[-1]
            media_type = _TYPES.get(suffix) or mimetypes.guess_type(entry.name)[0] or "application/octet-stream"
            files[entry.name] = (entry.read_bytes(), media_type)
    return files


_FILES = _load()


@router.get("/static/{name}", name="static", include_in_schema=False)
def static_file(name: str) -> Response:
    """One static file; 404 for any name not shipped with the package."""
    found = _FILES.get(name)
    if found is None:
        raise HTTPException(status_code=404)
    body, media_type = found
    return Response(body, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})
