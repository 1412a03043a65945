"""The API's docs at /docs with no internet: Swagger UI served from the package.

FastAPI's own /docs loads Swagger UI from a CDN, which a control room off the internet
cannot reach (a blank page). `add_offline_docs` registers /docs and its OAuth2 redirect
with the same page, pointing at the copy vendored from npm in
`viz/static/vendor/swagger-ui/` (swagger-ui-dist, see its VERSION file). The app must be
created with `docs_url=None` and have its static files mounted at `static_prefix`.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

SWAGGER_UI = "vendor/swagger-ui"  # under the static folder
OAUTH2_REDIRECT = "/docs/oauth2-redirect"


def add_offline_docs(app: FastAPI, static_prefix: str = "/static") -> None:
    """GET /docs (Swagger UI from `static_prefix`) and GET /docs/oauth2-redirect, both
    left out of the OpenAPI schema."""
    assets = f"{static_prefix.rstrip('/')}/{SWAGGER_UI}"
    openapi_url = app.openapi_url or "/openapi.json"
    app.swagger_ui_oauth2_redirect_url = OAUTH2_REDIRECT

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=(app.root_path or "") + openapi_url,
            title=f"{app.title} — Swagger UI",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon-32x32.png",
            oauth2_redirect_url=OAUTH2_REDIRECT,
            init_oauth=app.swagger_ui_init_oauth,
            # no badge from validator.swagger.io: nothing may leave for another host
            swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None},
        )

    @app.get(OAUTH2_REDIRECT, include_in_schema=False)
    def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
