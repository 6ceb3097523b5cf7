"""The provider's log lines: one JSON object per line on stderr, through one logging configuration.

``idp serve`` hands :func:`logging_config` to the HTTP server (granian applies it in its own process
and in every worker, so its lines and ours share one handler and one format, and nothing reaches
Python's last-resort handler); the other ``idp`` commands apply it with :func:`configure_logging`.

A line carries ``time`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger``, ``request_id``
(the request the line belongs to, when there is one) and ``event`` (the message), and the
few extra fields a caller passes in ``extra={"fields": {...}}``. What goes in a line is chosen by
the caller, never copied from a request: no personal data (names, personal ID numbers, addresses,
subjects) and no secrets.
"""

from __future__ import annotations

import contextvars
import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

from idp.settings import Settings

#: The id of the request being answered (set by the HTTP layer, :func:`idp.web.context.bind_request_id`).
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("idp_log_request_id", default=None)


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "request_id", "event", ...fields}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "request_id": getattr(record, "request_id", None) or REQUEST_ID.get(),
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update({key: value for key, value in fields.items() if key not in line})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time level logger [request id] event key=value ...`` for a person reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        fields = getattr(record, "fields", None)
        extra = " ".join(f"{k}={v}" for k, v in fields.items()) if isinstance(fields, dict) else ""
        text = f"{when} {record.levelname} {record.name}{f' [{request_id}]' if request_id else ''} " \
               f"{record.getMessage()}{' ' + extra if extra else ''}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def logging_config(settings: Settings) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` document: every logger (ours, the libraries', granian's own
    and its access log) writes through one stderr handler in the configured format."""
    formatter = JsonFormatter if settings.log_format == "json" else TextFormatter
    level = settings.log_level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"idp": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "idp", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            # granian's configuration names these two with handlers of its own: ours replace them.
            "_granian": {"handlers": ["stderr"], "level": level, "propagate": False},
            "granian.access": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        },
    }


def configure_logging(settings: Settings) -> None:
    """Apply :func:`logging_config` in this process (the ``idp`` commands other than ``serve``)."""
    logging.config.dictConfig(logging_config(settings))
