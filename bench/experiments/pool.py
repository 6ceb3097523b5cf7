"""Experiment: pool as large as the thread pool, no overflow churn, no pre-ping."""
# mypy: ignore-errors

import os

import idp.storage.sql as sql
from idp.app import create_app as _create
from idp.storage import db as dbmod

_SIZE = int(os.environ.get("EXP_POOL", "40"))
_original = dbmod.build_engine


def _build_engine(url, *, schema=None, pool_size=10):
    from sqlalchemy import create_engine

    if not url.startswith(("postgresql", "postgres")):
        return _original(url, schema=schema, pool_size=pool_size)
    return create_engine(
        dbmod.normalise_url(url),
        pool_size=_SIZE,
        max_overflow=0,
        pool_pre_ping=False,
        connect_args={"connect_timeout": 5},
    )


def create_app():
    sql.build_engine = _build_engine
    return _create()
