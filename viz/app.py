"""The control room's web app: a REST API (described by OpenAPI at /docs), websocket
state frames at 10 Hz, and the page itself, all served from the package (no internet).

Every request but log-in carries a token (`Authorization: Bearer ...`; the websocket
takes it as `?token=`). Roles: a viewer sees; an operator also commands the corridor
and the simulation clock; an engineer also saves runs; an admin also manages users
and reads the audit log. Every command — allowed or refused — is written to the audit
log with who, when, what and the result.
"""


import asyncio
import contextlib
import functools
import multiprocessing
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from controllers.limits import CARRIER_ID_PATTERN, CONTROLLER_NAMES, MAX_LANES, SPEED_MAX
from controllers.messages import LaneHeading, OperatorAction, Side
from viz.body_limit import BodyLimit
from viz.docs import add_offline_docs
from viz.frames import FORMAT
from viz.live_site import ClockAction, LiveSite
from viz.store import Role, Store, User, UserError
from viz.stream import Client

STATIC = FilePath(__file__).resolve().parent / "static"
SCENARIOS = FilePath(__file__).resolve().parent.parent / "scenarios"
SERIES_SHOWN = 288  # samples of the time series the management view gets (a day at 5 min)
Action = Literal[OperatorAction, ClockAction]  # what /api/commands takes: the controllers' and the clock's


ROW_ID_MAX = 2**63 - 1  # SQLite's integers: a larger id is no row, not an overflow
ERRORS_SHOWN = 20  # of a refused body's validation errors: a hostile body has thousands
# what any endpoint may answer besides 200, for the OpenAPI description
RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "no valid bearer token"},
    403: {"description": "the user's role may not do this"},
    404: {"description": "no such carrier, run or page"},
    413: {"description": "the request body is larger than the endpoint takes"},
    422: {"description": "the request is malformed: the fields and reasons are listed"},
}


class Body(BaseModel):
    # strict: `true` is no lane number and "5" no speed
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class Login(Body):
    user: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class CommandBody(Body):
    action: Action
    carrier_id: Annotated[str, Field(pattern=CARRIER_ID_PATTERN)] | None = None
    lane: Annotated[int, Field(ge=0, le=MAX_LANES - 1)] | None = None  # 0-based, as the controllers count
    direction: LaneHeading | None = None
    yard: Side | None = None  # place_carrier: the yard an operator places the carrier at
    speed: Annotated[float, Field(gt=0, le=SPEED_MAX)] | None = None


class NewUser(Body):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=8, max_length=256)]
    role: Role


class SaveRun(Body):
    name: Annotated[str, Field(min_length=1, max_length=80)]


class SimulateRun(Body):
    """A whole scenario from `scenarios/`, simulated now and saved as a run to compare."""

    scenario: Annotated[str, Field(pattern=r"^[a-z0-9_]+$", max_length=80)]
    seed: Annotated[int, Field(ge=0, le=2**31)] | None = None
    controller: Literal[CONTROLLER_NAMES] | None = None  # type: ignore[valid-type]
    name: Annotated[str, Field(min_length=1, max_length=80)] | None = None


@functools.cache
def workers() -> ProcessPoolExecutor:
    """One worker process for whole-scenario simulations, started on first use."""
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))


def create_app(live: LiveSite, store: Store) -> FastAPI:
    """The app over `live`. Every handler that touches the live site is a coroutine, so
    it runs on the loop that runs `live.run`: the controllers see one thread only."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(live.run(stop))
        app.state.stop = stop
        try:
            yield
        finally:
            stop.set()
            await task

    app = FastAPI(
        title="Lạng Sơn smart checkpoint — control room",
        version="1.0",
        description="Live state of the twin, operator commands, tracking, runs and the audit log.",
        lifespan=lifespan,
        docs_url=None,  # served from the package below: no CDN
        responses=RESPONSES,
    )
    app.add_middleware(BodyLimit)

    @app.exception_handler(RequestValidationError)
    async def refused(request: Request, exc: RequestValidationError) -> JSONResponse:
        """The fields and reasons of a malformed request, a few of them: the values are
        left out (a NaN cannot be written as JSON, a hostile value may be huge)."""
        errors = exc.errors()
        shown = [{"loc": [str(part) for part in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))} for e in errors[:ERRORS_SHOWN]]
        return JSONResponse({"detail": shown, "errors": len(errors)}, status_code=422)
    add_offline_docs(app)
    if not store.scenario:  # the audit entries this app writes name the scenario it serves
        store.scenario = live.scenario_name()

    bearer = HTTPBearer(auto_error=False, description="the token from /api/login, as `Authorization: Bearer <token>`")

    def user_of(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> User:
        # the scheme's case is ignored (RFC 7235); a bare token without it is refused
        token = credentials.credentials.strip() if credentials is not None else ""
        user = store.user_for_token(token) if token else None
        if user is None:
            raise HTTPException(401, "log in first: no valid token", headers={"WWW-Authenticate": "Bearer"})
        return user

    def needs(role: Role) -> Any:
        def check(user: Annotated[User, Depends(user_of)]) -> User:
            if not user.can(role):
                raise HTTPException(403, f"{_a(user.role)} may not do this; it needs {_a(role)}")
            return user

        return check

    # --- log-in ---------------------------------------------------------------------------

    @app.post("/api/login", tags=["auth"])
    def login(body: Login) -> dict[str, Any]:
        user = store.check_password(body.user, body.password)
        if user is None:
            raise HTTPException(401, "wrong user name or password")
        return {"token": store.issue_token(user), "user": user.name, "role": user.role}

    @app.post("/api/logout", tags=["auth"])
    def logout(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> dict[str, bool]:
        if credentials is not None:
            store.revoke_token(credentials.credentials.strip())
        return {"ok": True}

    @app.get("/api/me", tags=["auth"])
    def me(user: Annotated[User, Depends(user_of)]) -> dict[str, str]:
        return {"user": user.name, "role": user.role}

    # --- the site and its state -------------------------------------------------------------

    @app.get("/api/site", tags=["state"])
    async def site(user: Annotated[User, Depends(user_of)]) -> dict[str, Any]:
        """The corridor, blocks, yards, border, stations and chargers as GeoJSON (WGS84)."""
        return live.site()

    @app.get("/api/frame-format", tags=["state"])
    def frame_format() -> dict[str, Any]:
        """The keys and flags of the state frames (see /ws), as data the page decodes them with."""
        return FORMAT

    @app.get("/api/health", tags=["state"], responses={503: {"description": "the twin stopped on an error, or sends no frames"}})
    async def health(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> JSONResponse:
        """Whether the live twin runs, for a watchdog (no token needed) and the page. 503
        when it stopped on an error or its frames are stale; why, to a logged-in user."""
        said = live.health()
        if credentials is None or store.user_for_token(credentials.credentials.strip()) is None:
            said = {k: v for k, v in said.items() if k != "reason"}
        return JSONResponse(said, status_code=503 if said["status"] in ("stopped", "stale") else 200)

    @app.get("/api/state", tags=["state"])
    async def state(user: Annotated[User, Depends(user_of)]) -> dict[str, Any]:
        """The latest whole frame (the websocket sends the same, then deltas)."""
        return {"seq": live.hub.seq, "data": live.hub.frame}

    @app.get("/api/carriers/{carrier_id}", tags=["state"])
    async def carrier(carrier_id: str, user: Annotated[User, Depends(user_of)]) -> dict[str, Any]:
        found = live.carrier(carrier_id)
        if found is None:
            raise HTTPException(404, f"no carrier {carrier_id!r}")
        return found

    @app.get("/api/track", tags=["tracking"])
    async def track(q: Annotated[str, Query(min_length=1, max_length=40)], user: Annotated[User, Depends(user_of)]) -> dict[str, Any]:
        """Where a container is, found by its ISO 6346 code or its truck's plate."""
        return {"query": q, "results": live.track(q)}

    @app.get("/api/kpis", tags=["management"])
    async def kpis(user: Annotated[User, Depends(user_of)]) -> dict[str, Any]:
        """Throughput per direction, waits, queues and utilisation so far, with the time series."""
        return {"summary": live.summary(), "timeseries": live.timeseries(SERIES_SHOWN), "t0": live.t0}

    # --- commands ---------------------------------------------------------------------------

    @app.post("/api/commands", tags=["commands"])
    async def command(body: CommandBody, user: Annotated[User, Depends(user_of)]) -> dict[str, Any]:
        what = body.model_dump(exclude_none=True)
        if not user.can("operator"):
            store.record(user, body.action, what, False, "refused: a viewer may not command", "forbidden_role", {"role": user.role})
            raise HTTPException(403, "a viewer may not command")
        fields = {k: v for k, v in what.items() if k != "action"}
        ok, detail, code, args = live.command(body.action, **fields)
        values = dict(args)  # an object: the page fills a sentence's {placeholders} from it
        entry = store.record(user, body.action, what, ok, detail, code, values)
        return {"ok": ok, "detail": detail, "code": code, "args": values, "audit_id": entry}

    # --- runs -------------------------------------------------------------------------------

    @app.get("/api/runs", tags=["management"])
    def runs(user: Annotated[User, Depends(user_of)]) -> list[dict[str, Any]]:
        return store.runs()

    @app.get("/api/runs/{run_id}", tags=["management"])
    def run(run_id: Annotated[int, Path(ge=1, le=ROW_ID_MAX)], user: Annotated[User, Depends(user_of)]) -> dict[str, Any]:
        found = store.run(run_id)
        if found is None:
            raise HTTPException(404, f"no saved run {run_id}")
        return found

    @app.post("/api/runs", tags=["management"])
    async def save_run(body: SaveRun, user: Annotated[User, Depends(needs("engineer"))]) -> dict[str, Any]:
        run_id = store.save_run(body.name, live.scenario_name(), user, live.summary(), live.timeseries())
        store.record(user, "save_run", body.model_dump(), True, f"saved run {run_id}", "run_saved", {"run": run_id})
        return {"id": run_id}

    @app.get("/api/scenarios", tags=["management"])
    def scenarios(user: Annotated[User, Depends(user_of)]) -> list[str]:
        """The scenario files that can be simulated and saved as runs."""
        return sorted(p.stem for p in SCENARIOS.glob("*.yaml"))

    @app.post("/api/runs/simulate", tags=["management"])
    async def simulate_run(body: SimulateRun, user: Annotated[User, Depends(needs("engineer"))]) -> dict[str, Any]:
        path = SCENARIOS / f"{body.scenario}.yaml"
        if not path.is_file():
            raise HTTPException(404, f"no scenario {body.scenario!r}")
        try:
            scenario_name = live.check_scenario(path)
        except live.scenario_error as exc:
            raise HTTPException(422, str(exc)) from None
        summary, series = await asyncio.get_running_loop().run_in_executor(
            workers(), live.simulate, path, body.seed, body.controller
        )
        name = body.name or f"{scenario_name} · {summary['controller']} · seed {summary['seed']}"
        run_id = store.save_run(name, scenario_name, user, summary, series)
        store.record(user, "simulate_run", body.model_dump(exclude_none=True), True, f"saved run {run_id}", "run_saved", {"run": run_id})
        return {"id": run_id, "name": name}

    # --- admin ------------------------------------------------------------------------------

    @app.get("/api/audit", tags=["admin"])
    def audit(
        user: Annotated[User, Depends(needs("admin"))],
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        before: Annotated[int | None, Query(ge=1, le=ROW_ID_MAX)] = None,
        scenario: Annotated[str | None, Query(max_length=80)] = None,
    ) -> list[dict[str, Any]]:
        """The audit log, newest first; `scenario` keeps the entries of one server's scenario
        (servers sharing a data directory write to the same log)."""
        return store.audit(limit, before, scenario)

    @app.get("/api/users", tags=["admin"])
    def users(user: Annotated[User, Depends(needs("admin"))]) -> list[dict[str, str]]:
        return [{"name": u.name, "role": u.role} for u in store.users()]

    @app.post("/api/users", tags=["admin"])
    def add_user(body: NewUser, user: Annotated[User, Depends(needs("admin"))]) -> dict[str, str]:
        try:
            created = store.add_user(body.name, body.password, body.role)
        except UserError as exc:
            store.record(user, "add_user", {"name": body.name, "role": body.role}, False, str(exc))
            raise HTTPException(409 if "exists" in str(exc) else 422, str(exc)) from None
        store.record(
            user, "add_user", {"name": body.name, "role": body.role}, True, f"user {created.name} added",
            "user_added", {"name": created.name, "role": created.role},
        )
        return {"name": created.name, "role": created.role}

    # --- the websocket ----------------------------------------------------------------------

    @app.websocket("/ws")
    async def frames(ws: WebSocket, token: str = "", since: int | None = None) -> None:
        """State frames at 10 Hz: a whole frame first (or the missed deltas after `since`
        when a client reconnects), then deltas."""
        await ws.accept()  # then close with a code the page can read, not a failed handshake
        if store.user_for_token(token) is None:
            await ws.close(code=4401, reason="log in first")
            return
        hub = live.hub
        client = Client()
        backlog = hub.backlog(since) if since is not None else None
        if backlog is None:
            client.last_seq, first = hub.key_frame()
            opening = [first]
        else:
            client.last_seq, opening = hub.seq, backlog
        hub.clients.add(client)
        try:
            for message in opening:
                await ws.send_text(message)
            receiver = asyncio.create_task(_until_closed(ws))
            while not receiver.done():
                getter = asyncio.create_task(client.queue.get())
                done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                for message in hub.next_messages(client, getter.result()):
                    await ws.send_text(message)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            hub.clients.discard(client)

    # --- the page ---------------------------------------------------------------------------

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    return app


def _a(noun: str) -> str:
    """The noun with its article: "an engineer", "a viewer"."""
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


async def _until_closed(ws: WebSocket) -> None:
    """Read (and ignore) what the client sends until it goes away."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await ws.receive_text()

