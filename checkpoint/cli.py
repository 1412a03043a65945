"""The `checkpoint` command."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from checkpoint.journal import JournalError
from controllers.limits import CONTROLLER_NAMES, SPEED_MAX
from twin.scenario import ScenarioError, load_scenario

DEFAULT_SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "huu_nghi_8lane.yaml"


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


DEMAND_SCALE_MAX = 20.0  # twenty times a day's demand: far past any corridor's capacity


def _demand_scale(text: str) -> float:
    value = _positive(text)
    if value > DEMAND_SCALE_MAX:
        raise argparse.ArgumentTypeError(f"at most {DEMAND_SCALE_MAX:g}, not {text}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= value <= 2**63 - 1:
        raise argparse.ArgumentTypeError(f"must be 0 to 2**63-1, not {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="checkpoint",
        description="Digital twin and control system of the Lạng Sơn smart border checkpoint.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sim = sub.add_parser("simulate", help="run a scenario and print its KPIs")
    sim.add_argument("scenario", nargs="?", type=Path, default=DEFAULT_SCENARIO,
                     help="scenario YAML file (default: the 8-lane Hữu Nghị scenario)")
    sim.add_argument("--out", type=Path, help="write summary.json and timeseries.csv to this folder "
                                              "(and campaign.json for a scenario with a fault campaign)")
    sim.add_argument("--seed", type=_seed, help="random seed (default: the scenario's)")
    sim.add_argument("--demand-scale", type=_demand_scale, default=1.0,
                     help="multiply the scenario's demand, e.g. 3 for three times the trucks")
    sim.add_argument("--quiet", action="store_true", help="print nothing but errors")
    sim.add_argument("--controller", choices=CONTROLLER_NAMES, help="override the scenario's controller")

    cmp = sub.add_parser("compare", help="compare controllers on a scenario over several seeds")
    cmp.add_argument("scenario", type=Path, help="scenario YAML file")
    cmp.add_argument("--controllers", type=_controller_list, default=list(CONTROLLER_NAMES),
                     help=f"comma-separated, the first is the baseline (default: {','.join(CONTROLLER_NAMES)})")
    cmp.add_argument("--seeds", type=_count, default=10, help="seeds per controller (default 10)")
    cmp.add_argument("--duration-h", type=_positive, help="override the scenario's duration")
    cmp.add_argument("--workers", type=_count, help="parallel runs (default: one per core)")
    cmp.add_argument("--out", type=Path, help="write compare.json to this folder")

    run = sub.add_parser("run", help="mixed mode: run on the wall clock with the scenario's bridged devices")
    run.add_argument("scenario", type=Path, help="scenario YAML file with a devices section")
    run.add_argument("--speed", type=_positive, help="model seconds per wall second (default: the scenario's)")
    run.add_argument("--duration-min", type=_positive, help="model minutes to run (default: the scenario's duration)")
    run.add_argument("--seed", type=_seed, help="random seed (default: the scenario's)")
    run.add_argument("--controller", choices=CONTROLLER_NAMES, help="override the scenario's controller")
    run.add_argument("--out", type=Path, help="write summary.json (with the devices' figures) to this folder")
    run.add_argument("--quiet", action="store_true", help="print nothing but errors")
    run.add_argument("--progress-s", type=_positive, default=10.0,
                     help="wall seconds between progress lines (default 10)")
    run.add_argument("--data-dir", type=Path, default=Path("data"), help="folder of the journal (default ./data)")
    _journal_arguments(run)
    run.add_argument("--recover", action="store_true",
                     help="go on with the journal's last run, cut short when its control process died: rebuild "
                          "the world and the controllers from the journal, then carry on with the devices as they are")

    serve = sub.add_parser("serve", help="run the twin live with the control room on the web")
    serve.add_argument("scenario", nargs="?", type=Path, default=DEFAULT_SCENARIO,
                       help="scenario YAML file (default: the 8-lane Hữu Nghị scenario)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
    serve.add_argument("--data-dir", type=Path, default=Path("data"), help="folder of the SQLite file (default ./data)")
    serve.add_argument("--speed", type=_positive, help=f"model seconds per wall second, up to {SPEED_MAX:g} (default: the scenario's)")
    serve.add_argument("--seed", type=_seed, help="random seed (default: the scenario's)")
    serve.add_argument("--controller", choices=CONTROLLER_NAMES, help="override the scenario's controller")
    serve.add_argument("--start", choices=("now", "midnight"), default="now",
                       help="open the live twin at the gate's present time of day (simulated up to it first), "
                            "or at midnight (default: now; a run with bridged devices opens at midnight)")
    _journal_arguments(serve)

    study = sub.add_parser("study", help="run a planner's study: factors over a base scenario, seeds until the intervals are tight")
    study.add_argument("study", type=Path, help="study YAML file (scenarios/studies/)")
    study.add_argument("--out", type=Path, required=True,
                       help="folder of the study's runs and results; a study started again there runs only what is missing")
    study.add_argument("--workers", type=_count, help="worker processes of the local Dask cluster (default: one per core)")
    study.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="an existing Dask cluster's scheduler instead of a local one")

    replay = sub.add_parser("replay", help="feed a journal's run back through the controllers and check their commands")
    replay.add_argument("journal", metavar="JOURNAL", help="the journal: its SQLite file (journal.sqlite in the data folder) or a postgresql:// URL")
    replay.add_argument("--run", type=_count, dest="run_id", help="the run's id (default: the last run)")
    replay.add_argument("--controller", choices=CONTROLLER_NAMES,
                        help="replay into another controller than the run's, to see where it would decide otherwise")
    replay.add_argument("--list", action="store_true", help="list the journal's runs and stop")

    user = sub.add_parser("user", help="manage control-room users")
    user_cmds = user.add_subparsers(dest="user_command", required=True)
    add = user_cmds.add_parser("add", help="add a user (the first admin too); the password is asked for, or read from stdin")
    add.add_argument("name")
    add.add_argument("--role", choices=("viewer", "operator", "engineer", "admin"), required=True)
    listed = user_cmds.add_parser("list", help="list the users and their roles")
    remove = user_cmds.add_parser("remove", help="remove a user (not the last admin); its sessions end")
    remove.add_argument("name")
    passwd = user_cmds.add_parser("passwd", help="set a user's password (asked for, or read from stdin); its sessions end")
    passwd.add_argument("name")
    for cmd in (add, listed, remove, passwd):
        cmd.add_argument("--data-dir", type=Path, default=Path("data"), help="folder of the SQLite file (default ./data)")

    emulate = sub.add_parser("emulate", help="run a device emulator speaking its real protocol")
    kinds = emulate.add_subparsers(dest="device", required=True)
    vehicle = kinds.add_parser("vehicle", help="a VDA 5050 vehicle over MQTT")
    vehicle.add_argument("--broker", type=_host_port, default=("127.0.0.1", 1883), help="MQTT broker HOST:PORT")
    vehicle.add_argument("--manufacturer", default="LangSonTwin")
    vehicle.add_argument("--serial", required=True, help="the vehicle's serial number")
    vehicle.add_argument("--speed", type=_positive, default=6.0, help="metres per second")
    vehicle.add_argument("--state-period", type=_positive, default=1.0, help="seconds between state messages")
    vehicle.add_argument("--start-node", default="VN", help="the node it stands on")
    vehicle.add_argument("--version", choices=("2.0.0", "2.1.0", "3.0.0"), default="2.1.0")
    vehicle.add_argument("--charge-rate", type=_positive, default=2.0, help="battery %% gained per second at a charger")
    vehicle.add_argument("--free-navigation", action="store_true",
                         help="navigate by node positions: refuse an order whose nodes have none")
    vehicle.add_argument("--not-localized", action="store_true",
                         help="start with positionInitialized false: refuse orders until an initPosition")
    vehicle.add_argument("--visualization-period", type=_positive, default=None,
                         help="seconds between visualization messages (its position); none if not given")
    crane = kinds.add_parser("crane", help="an automated crane as an OPC UA server on 127.0.0.1")
    crane.add_argument("--port", type=_port, default=4840)
    crane.add_argument("--move-s", type=_positive, default=2.0, help="seconds for a pick or place with the moves")
    crane.add_argument("--misbehave", type=_crane_misbehaviour, default="", metavar="MODE",
                       help="misbehave from the start, to test what the master makes of it: a Bad status code's name "
                            "(BadInternalError, BadNodeIdUnknown, BadTimeout, ...) answers every read and call with it, "
                            "calls:CODE only the calls; wrong-types, out-of-range, or drop-mid-move (the server closes "
                            "halfway through each motion and opens again a second later)")
    gate = kinds.add_parser("gate", help="a gate lane's barrier and weighbridge over Modbus TCP on 127.0.0.1")
    gate.add_argument("--port", type=_port, default=5020)
    gate.add_argument("--barrier-speed", type=_positive, default=50.0, help="%% of the way the barrier moves per second")
    gate.add_argument("--settle-s", type=_positive, default=1.0, help="seconds before a new weight is stable")
    gate.add_argument("--exception-responses", action="store_true",
                      help="answer every read with a Modbus exception (device failure), to test what the master makes of it")
    return parser


def _journal_arguments(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--journal", metavar="FILE_OR_URL",
                     help="the journal, where every event and command is written before it is acted on: a SQLite "
                          "file or a postgresql:// URL (default: journal.sqlite in the data folder)")
    cmd.add_argument("--no-journal", action="store_true", help="keep no journal")


def _open_journal(args: argparse.Namespace) -> Any:
    """The journal of a control run, unless turned off."""
    from checkpoint.journal import JournalDb

    if args.no_journal:
        return None
    return JournalDb(args.journal if args.journal is not None else args.data_dir / "journal.sqlite")


def _crane_misbehaviour(text: str) -> str:
    from hardware_bridge.opcua_crane import misbehaviour

    try:
        return misbehaviour(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _run_to_recover(journal: Any, scenario: Any, path: Path) -> Any:
    """The journal's last run, if it was cut short and is of this scenario."""
    run = journal.run()
    if run.ended_at is not None:
        raise JournalError(f"{journal.name}: its last run ({run.run_id}) ended at {run.ended_at}: nothing to recover")
    if run.scenario != scenario.model_dump(mode="json"):
        raise JournalError(f"{journal.name}: its last run ({run.run_id}) is of another scenario than {path} "
                           f"({run.scenario_name}, or the file changed since)")
    return run


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}")
    return int(text)


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {text!r}")
    return host, int(port)



def _controller_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in CONTROLLER_NAMES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown controller {', '.join(unknown) or repr(text)}; choose from {', '.join(CONTROLLER_NAMES)}"
        )
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"a controller is named twice in {text!r}")
    return names


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def simulate(args: argparse.Namespace, console: Console) -> int:
    from twin.kpi import summarise, write_outputs
    from twin.report import render
    from twin.world import World

    scenario = load_scenario(args.scenario)
    if scenario.campaign:  # a fault campaign: the baseline, each fault alone and all of them
        from twin.campaign import simulate as simulate_campaign

        return simulate_campaign(scenario, console, seed=args.seed, demand_scale=args.demand_scale,
                                 controller=args.controller, out=args.out, quiet=args.quiet)
    world = World(scenario, seed=args.seed, demand_scale=args.demand_scale, controller=args.controller)
    started = time.perf_counter()
    if console.is_terminal and not args.quiet:
        from rich.progress import Progress

        with Progress(console=console, transient=True) as bar:
            task = bar.add_task(f"simulating {scenario.duration_h:g} h", total=1.0)
            world.run(progress=lambda done: bar.update(task, completed=done))
    else:
        world.run()
    wall = time.perf_counter() - started
    summary = summarise(world)
    if args.out is not None:
        write_outputs(world, summary, args.out)
    if not args.quiet:
        render(summary, console)
        console.print(f"[dim]{wall:.2f} s of wall time[/]")
        if args.out is not None:
            console.print(f"Wrote {args.out / 'summary.json'} and {args.out / 'timeseries.csv'}")
    return 0 if summary["safety_violations"] == 0 and summary["containers_lost"] == 0 else 1


def compare(args: argparse.Namespace, console: Console) -> int:
    from twin.compare import compare as run_compare
    from twin.kpi import to_json
    from twin.report import render_comparison

    load_scenario(args.scenario)  # a bad file fails here, before any worker starts
    result = run_compare(args.scenario, args.controllers, args.seeds, args.duration_h, args.workers)
    render_comparison(result, console)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "compare.json").write_text(to_json(result), encoding="utf-8")
        console.print(f"Wrote {args.out / 'compare.json'}")
    unsafe = any(
        kpis[k]["mean"] > 0 for kpis in result["controllers"].values() for k in ("safety_violations", "deadlocks")
    )
    return 1 if unsafe else 0


def run_mixed(args: argparse.Namespace, console: Console) -> int:
    import asyncio
    import signal

    from checkpoint.mixed import MixedRun
    from checkpoint.tape import RecoveryDiverged
    from twin.kpi import summarise, to_json
    from twin.report import render

    scenario = load_scenario(args.scenario)
    if args.speed is not None and args.speed > SPEED_MAX:
        raise ScenarioError(f"--speed: at most {SPEED_MAX:g}, not {args.speed}")
    journal = _open_journal(args)
    if args.recover:
        if journal is None:
            raise ScenarioError("--recover: a run is recovered from its journal; --no-journal leaves none")
        cut = _run_to_recover(journal, scenario, args.scenario)
        mixed = MixedRun(scenario, speed=args.speed, seed=cut.seed, controller=cut.controller, journal=journal)
    else:
        mixed = MixedRun(scenario, speed=args.speed, seed=args.seed, controller=args.controller, journal=journal)
    try:
        if args.recover:
            mixed.recover(cut)
        else:
            mixed.open()
    except (ConnectionError, TimeoutError) as exc:
        print(f"checkpoint: error: {exc}", file=sys.stderr)
        return 2
    except RecoveryDiverged as exc:
        mixed.close(ended=False)
        print(f"checkpoint: error: cannot recover: {exc}", file=sys.stderr)
        return 2
    duration = args.duration_min * 60 if args.duration_min else None

    async def report(every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            console.print(_progress_line(mixed.world), highlight=False)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        reporter = None if args.quiet else asyncio.create_task(report(args.progress_s))
        try:
            await mixed.run(duration, stop)
        finally:
            if reporter is not None:
                reporter.cancel()

    try:
        asyncio.run(main())
    finally:
        mixed.close()
    summary = summarise(mixed.world)
    summary["devices"] = mixed.device_summary()
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "summary.json").write_text(to_json(summary), encoding="utf-8")
    if not args.quiet:
        render(summary, console)
        console.print_json(data=summary["devices"])
    return 0 if summary["safety_violations"] == 0 and summary["containers_lost"] == 0 else 1


def _progress_line(world: Any) -> str:
    """One line on a mixed run so far: model time, containers, carriers, safety."""
    now = world.env.now
    moving = sum(1 for c in world.carriers.values() if c.moving)
    return (
        f"model {int(now // 3600):02d}:{int(now % 3600 // 60):02d}:{int(now % 60):02d}"
        f" · {len(world.containers)} containers arrived, {world.delivered_count} delivered"
        f" · {moving}/{len(world.carriers)} carriers moving · {len(world.safety.violations)} safety violations"
    )


def _password() -> str:
    """A new password: asked for twice on a terminal, else the first line of stdin."""
    import getpass

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def manage_users(args: argparse.Namespace, console: Console) -> int:
    """`checkpoint user add|list|remove|passwd`."""
    from viz.store import Store, UserError

    path = args.data_dir / "checkpoint.sqlite"
    if args.user_command != "add" and not path.is_file():
        print(f"checkpoint: error: no user file {path} (add a user first: checkpoint user add)", file=sys.stderr)
        return 2
    store = Store(path)
    try:
        if args.user_command == "add":
            user = store.add_user(args.name, _password(), args.role)
            console.print(f"added {user.role} {user.name} in {path}")
        elif args.user_command == "list":
            for user in store.users():
                console.print(f"{user.name}\t{user.role}", highlight=False)
        elif args.user_command == "remove":
            store.remove_user(args.name)
            console.print(f"removed {args.name} from {path}")
        else:
            store.set_password(args.name, _password())
            console.print(f"new password for {args.name}; its sessions have ended")
    except (UserError, ValueError) as exc:
        print(f"checkpoint: error: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    return 0


def serve(args: argparse.Namespace, console: Console) -> int:
    import uvicorn

    from checkpoint.live import LiveTwin, present_time_of_day
    from viz.app import create_app
    from viz.store import Store

    scenario = load_scenario(args.scenario)
    if args.speed is not None and args.speed > SPEED_MAX:
        raise ScenarioError(f"--speed: at most {SPEED_MAX:g}, not {args.speed}")
    store = Store(args.data_dir / "checkpoint.sqlite", scenario=scenario.name)
    if not store.has_admin():
        if not sys.stdin.isatty():
            print(
                f"checkpoint: error: no admin yet; create one first:\n"
                f"  checkpoint user add NAME --role admin --data-dir {args.data_dir}",
                file=sys.stderr,
            )
            return 2
        console.print("No admin yet: create the first one.")
        name = input("admin user name: ").strip()
        try:
            store.add_user(name, _password(), "admin")
        except ValueError as exc:
            print(f"checkpoint: error: {exc}", file=sys.stderr)
            return 2
    try:
        start = present_time_of_day() if args.start == "now" else 0.0
        live = LiveTwin(scenario, seed=args.seed, speed=args.speed, controller=args.controller, start_at_s=start,
                        journal=_open_journal(args))
    except (ConnectionError, TimeoutError) as exc:
        print(f"checkpoint: error: {exc}", file=sys.stderr)
        return 2
    console.print(f"Control room of {scenario.name}: http://{args.host}:{args.port}/  (Ctrl-C stops)")
    uvicorn.run(create_app(live, store), host=args.host, port=args.port, log_level="warning")
    return 0


def emulate(args: argparse.Namespace) -> int:
    import signal

    if args.device == "crane":
        from hardware_bridge.opcua_crane import serve_crane

        serve_crane(args.port, args.move_s, misbehave=args.misbehave)
        return 0
    if args.device == "gate":
        from hardware_bridge.modbus_gate import serve_gate

        serve_gate(args.port, args.barrier_speed, args.settle_s, exception_responses=args.exception_responses)
        return 0

    from hardware_bridge.vehicle_emulator import VehicleEmulator

    host, port = args.broker
    emulator = VehicleEmulator(
        host, port, args.manufacturer, args.serial, speed_mps=args.speed,
        state_period_s=args.state_period, start_node=args.start_node, version=args.version,
        charge_pct_per_s=args.charge_rate, free_navigation=args.free_navigation,
        localized=not args.not_localized, visualization_period_s=args.visualization_period or 0.0,
    )
    signal.signal(signal.SIGTERM, lambda *_: emulator.stop())
    try:
        emulator.run()
    except KeyboardInterrupt:
        emulator.stop()
    return 0


def run_study_command(args: argparse.Namespace, console: Console) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from twin.study import StudyError, load_study
    from twin.study_runner import run_study

    try:
        study, base = load_study(args.study)
    except StudyError as exc:
        print(f"checkpoint: error: {exc}", file=sys.stderr)
        return 2
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(f"study {study.name}: runs", total=None)
        result = run_study(study, base, args.out, workers=args.workers, scheduler=args.scheduler,
                           on_progress=lambda p: bar.update(task, completed=p.done, total=p.total))
    headline = result["headline"]
    console.print(f"{result['runs']} runs ({result['ran']} now, the others stored before) in {args.out}:", highlight=False)
    for point in result["points"]:
        k = point["kpis"][headline]
        flag = "" if point["converged"] else "  (not within the half-width: more seeds than the cap would be needed)"
        console.print(f"  {point['factors']}: {headline} {k['mean']:,.1f} ± {k['half_width']:,.1f} "
                      f"over {len(point['seeds'])} seeds{flag}", highlight=False, markup=False)
    console.print(f"Wrote {args.out / 'study.json'} and {args.out / 'runs.parquet'}", highlight=False)
    unsafe = any(p["containers_lost"] or p["safety_violations"] for p in result["points"])
    return 1 if unsafe else 0


def replay(args: argparse.Namespace, console: Console) -> int:
    from checkpoint.journal import JournalDb
    from checkpoint.replay import replay as run_replay

    try:
        db = JournalDb(args.journal, create=False)
        if args.list:
            for run in db.runs():
                ended = run.ended_at or "cut short"
                console.print(f"run {run.run_id}: {run.mode} {run.scenario_name}, controller {run.controller}, "
                              f"seed {run.seed}, started {run.started_at}, ended {ended}, "
                              f"{db.entry_count(run.run_id)} entries", highlight=False)
            return 0
        result = run_replay(db, args.run_id, args.controller)
    except JournalError as exc:
        print(f"checkpoint: error: {exc}", file=sys.stderr)
        return 2
    run = result.run
    console.print(f"run {run.run_id} ({run.mode} {run.scenario_name}) replayed into {result.controller}: "
                  f"{result.events} events, {result.commands} commands compared", highlight=False)
    if result.divergence is not None:
        console.print(result.divergence.describe(), highlight=False, markup=False)
        return 1
    if result.cut_short:
        console.print("the run was cut short: its last event has no recorded answer", highlight=False)
    console.print("the controller issued the same commands", highlight=False)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console()
    if not console.is_terminal:  # a file or a pipe: wide enough for the comparison table
        console = Console(width=160)
    try:
        if args.command == "simulate":
            return simulate(args, console)
        if args.command == "compare":
            return compare(args, console)
        if args.command == "emulate":
            return emulate(args)
        if args.command == "run":
            return run_mixed(args, console)
        if args.command == "serve":
            return serve(args, console)
        if args.command == "user":
            return manage_users(args, console)
        if args.command == "replay":
            return replay(args, console)
        if args.command == "study":
            return run_study_command(args, console)
    except ScenarioError as exc:
        print(f"checkpoint: error: {exc}", file=sys.stderr)
        return 2
    except JournalError as exc:
        print(f"checkpoint: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"checkpoint: error: {exc}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
