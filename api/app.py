"""The FastAPI application: every route under ``/api/v1``, OpenAPI docs at ``/docs``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import web
from api.crm.contacted import FirmsCache, RecentLeads
from api.crm.migrate import schema_state, upgrade
from api.crm.people import CallerCache
from api.crm.tables import make_engine
from api.errors import STATUS, InvalidInput, field_and_reason, status_of
from api.routes import (
    buildings,
    chains,
    enterprises,
    health,
    kpis,
    leads,
    links,
    model,
    outreach,
    pipeline,
    plan,
    similar,
    users,
)
from api.serving.state import StateHolder
from api.web.common import NotReady, SignInRequired, error_page, not_ready_page, sign_in_redirect
from data.settings import Settings, get_settings

PREFIX = "/api/v1"
log = logging.getLogger("attract.api")


class BodyLimit:
    """413 for a request body over ``max_bytes``: at once when ``Content-Length`` says so, and
    while reading when the body comes in chunks without one (the route never sees the rest)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.detail = f"request body: larger than {max_bytes:,} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await JSONResponse({"detail": self.detail}, status_code=413)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, self.detail)  # answered like any HTTPException
            return message

        await self.app(scope, limited, send)


class SchemaOutdated(RuntimeError):
    """The service database is not at this version's schema; the message says what to run."""


def create_app(
    settings: Settings | None = None,
    *,
    load: str = "background",
    holder: StateHolder | None = None,
) -> FastAPI:
    """The app; ``load`` is ``background`` (serve at once, 503 until loaded), ``sync`` or
    ``none``; ``holder`` serves a state loaded elsewhere (tests share one between apps)."""
    settings = settings or get_settings()
    own_holder = holder is None
    holder = holder or StateHolder(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if load == "background":
            holder.start_background_load()
        elif load == "sync":
            holder.load()
        yield

    app = FastAPI(
        title="Shibei Attract",
        version="0.1.0",
        lifespan=lifespan,
        description="Investment-attraction leads, chain gaps and models for an industrial park.",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    engine = make_engine(settings.database)
    database = schema_state(engine)
    if database.kind == "empty":  # a new database: every table through the migrations
        upgrade(engine)
    elif database.kind in {"old", "newer"}:
        raise SchemaOutdated(f"service database {settings.database}: {database.message}")
    elif database.kind == "unreachable":  # keep serving what needs no database; writes: 503
        log.warning("service database %s", database.message)
    app.state.settings = settings
    app.state.holder = holder
    app.state.engine = engine
    app.state.sessions = sessionmaker(engine, expire_on_commit=False)
    if own_holder:  # a holder shared between apps (tests) warms without any app's database
        holder.sessions = app.state.sessions
    app.state.callers = CallerCache(app.state.sessions)
    app.state.contacted = FirmsCache(app.state.sessions, settings.park)
    app.state.recent_leads = RecentLeads(app.state.sessions, settings.park)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PATCH"],
            allow_headers=["X-API-Key", "Content-Type", "Idempotency-Key"],
        )

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

    def is_page(request: Request) -> bool:
        return not request.url.path.startswith(PREFIX)

    async def domain_error(request: Request, exc: Exception) -> Response:
        # one status per error (api.errors.STATUS), as JSON for the API and a page elsewhere
        status = status_of(exc)
        if is_page(request):
            return error_page(
                request,
                holder.current,
                app.state.callers,
                status,
                str(exc),
                secure=settings.cookie_secure,
            )
        headers = {"Retry-After": "2"} if status == 503 else None
        if isinstance(exc, InvalidInput):
            # the same shape as FastAPI's own 422: the field (from "field: reason") and the reason
            field, reason = field_and_reason(exc)
            detail = [
                {
                    "loc": ["body", field] if field else ["body"],
                    "msg": reason,
                    "type": "value_error",
                }
            ]
            return JSONResponse({"detail": detail}, status_code=status, headers=headers)
        return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)

    for kind in STATUS:
        app.add_exception_handler(kind, domain_error)

    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, _exc: SignInRequired) -> Response:
        return sign_in_redirect(request)

    @app.exception_handler(NotReady)
    async def not_ready(request: Request, exc: NotReady) -> Response:
        return not_ready_page(
            request, holder.current, app.state.callers, exc.problems, secure=settings.cookie_secure
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's own 422, except that a refused password is never echoed back
        errors = [
            {k: v for k, v in e.items() if k != "input"} if "password" in e.get("loc", ()) else e
            for e in exc.errors()
        ]
        return await request_validation_exception_handler(request, RequestValidationError(errors))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # the trace goes to the log only: a response never carries a stack trace or SQL
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error; it has been logged"}, status_code=500)

    for router in (
        health.router,
        leads.router,
        enterprises.router,
        similar.router,
        chains.router,
        outreach.router,
        pipeline.router,
        kpis.router,
        links.router,
        plan.router,
        buildings.router,
        users.router,
        model.router,
    ):
        app.include_router(router, prefix=PREFIX)
    app.include_router(web.router)
    return app
