"""Server-rendered pages (Jinja2) for officers, team leads, strategists and data scientists, on
the same app and the same serving state and database as the JSON API.

One module per subject: ``auth`` (sign in and out, the home page), ``leads``, ``chains``,
``enterprises``, ``pipeline`` (my leads, board, team, export), ``people`` (the admin's),
``plan`` (KPIs, coverage over time), ``buildings`` (载体), ``links`` (产业链校核), ``model``.
``common`` holds the one gate every page passes
(``Page``: signed in, role, components loaded), rendering and the language. Sign-in starts a
session whose random token lives in an HTTP-only, secure, same-site cookie (stored only hashed).
Chinese by default, English with ``?lang=en`` (remembered in a cookie).
"""

from __future__ import annotations

from fastapi import APIRouter

from api.web import (
    auth,
    buildings,
    chains,
    enterprises,
    leads,
    links,
    model,
    people,
    pipeline,
    plan,
)

router = APIRouter(include_in_schema=False)
for module in (auth, leads, chains, enterprises, pipeline, people, plan, buildings, links, model):
    router.include_router(module.router)
