"""The web mailbox: an ASGI application (Starlette) served by uvicorn over ``gateway.services``.

Pages are rendered on the server from Jinja2 templates (autoescaped); the little script there is ships
as a static file, so every page runs under a Content-Security-Policy without 'unsafe-inline'.
"""
