"""Engine, session factory and the per-request session dependency."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request
from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session, sessionmaker

DATABASE_URL = os.environ["DATABASE_URL"]

engine = create_engine(DATABASE_URL, pool_size=20, max_overflow=10, pool_pre_ping=True)
SessionFactory = sessionmaker(bind=engine, autoflush=False, expire_on_commit=False)


@event.listens_for(engine, "connect")
def _set_timeouts(dbapi_conn, _record):
    with dbapi_conn.cursor() as cur:
        cur.execute("SET statement_timeout = '15s'")


def get_db(request: Request) -> Iterator[Session]:
    """FastAPI dependency: one session per request, committed if the handler returns normally."""
    session = SessionFactory()
    request.state.db = session
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def job_session() -> Iterator[Session]:
    """A session for background jobs and scripts (no request)."""
    session = SessionFactory()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()
