"""The ``docrsim`` command."""

from __future__ import annotations

import gc as python_gc
import json
import signal
import sys
import threading
from pathlib import Path
from urllib.parse import quote

import click

from docrsim import control_client
from docrsim.network.environment import DEFAULT_TOKEN
from docrsim.core.gc_run import Rates

# Commands that only talk to a running docrsim (`clock advance` stands in for `sleep` in scripts
# under test) start fast: Flask, jsonschema and the simulation are imported by the commands that
# need them.


@click.group()
@click.version_option(package_name="docrsim")
def main():
    """docrsim: a local simulator of the DigitalOcean Container Registry."""


def _fail(message: str) -> None:
    click.echo(f"docrsim: {message}", err=True)
    sys.exit(2)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address both hosts bind to.")
@click.option("--api-port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="Port of the API host (DO API, control API); 0 picks a free one.")
@click.option("--registry-port", default=5000, show_default=True, type=click.IntRange(0, 65535),
              help="Port of the registry host (OCI distribution API); 0 picks a free one.")
@click.option("--fixture", "fixtures", multiple=True, metavar="NAME|FILE",
              help="Scenario to load at start: a shipped one by name (docrsim fixture list) or a file "
                   "(repeatable; applied in order).")
@click.option("--clock", "clock_kind", type=click.Choice(["system", "manual"]), default="system",
              show_default=True, help="system: real time (freezegun-friendly); manual: moves only when told.")
@click.option("--start-time", help="ISO 8601 instant the manual clock starts at.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for every generated id.")
@click.option("--tokens", "tokens_file", type=click.Path(dir_okay=False),
              help="YAML mapping of API token to scopes; without it any token has every scope.")
@click.option("--gc-scan-rate", type=click.FloatRange(min=0, min_open=True), default=Rates.scan_manifests_per_second,
              show_default=True, help="Manifests a garbage collection scans per simulated second.")
@click.option("--gc-delete-rate", type=click.FloatRange(min=0, min_open=True), default=Rates.delete_objects_per_second,
              show_default=True, help="Objects a garbage collection deletes per simulated second "
                                      "(each also takes its size at 100 MiB per second).")
@click.option("--state", "state_dir", type=click.Path(),
              help="Keep the world in this folder (made if missing): every change is written there before "
                   "its response, so a killed docrsim loses nothing. A world found there is loaded at start "
                   "(the fixtures then only set what a reset returns to).")
@click.option("--fsync", is_flag=True, help="With --state: sync each change to the disk before its response too, so "
                                            "that a power cut loses nothing either (slower).")
@click.option("--verbose", is_flag=True, help="Log every request to stderr: simulated time, host, method, path, "
                                              "operation id, status, duration.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="With --verbose: a line of text per request, or a JSON object per line.")
@click.option("--server", "wsgi_server", type=click.Choice(["threaded", "waitress"]), default="threaded",
              show_default=True, help="WSGI server carrying both hosts: threaded (a thread per connection, kept alive) or "
                                      "waitress (an I/O loop and a thread pool; pip install waitress).")
@click.option("--tls", is_flag=True, help="Both hosts also speak TLS (plain HTTP keeps working on the same ports), "
                                          "with certificates from docrsim's own CA.")
@click.option("--proxy-port", type=click.IntRange(0, 65535),
              help="Start a forward proxy on this port (0 picks a free one) carrying api.digitalocean.com and "
                   "registry.digitalocean.com to docrsim, and nothing else; turns --tls on.")
@click.option("--ca-dir", type=click.Path(file_okay=False),
              help="Folder of docrsim's CA, made there on first use and reused "
                   "[default: $DOCRSIM_CA_DIR, else $XDG_DATA_HOME/docrsim/ca, ~/.local/share/docrsim/ca "
                   "without XDG_DATA_HOME].")
def serve(host, api_port, registry_port, fixtures, clock_kind, start_time, seed, tokens_file, gc_scan_rate,
          gc_delete_rate, state_dir, fsync, verbose, log_format, wsgi_server, tls, proxy_port, ca_dir):
    """Run the API host and the registry host until interrupted."""
    from docrsim.core.clock import format_exact_instant, make_clock, parse_instant
    from docrsim.core.credentials import TokenPolicy
    from docrsim.core.errors import DomainError
    from docrsim.core.state import Simulation
    from docrsim.http.control import restore
    from docrsim.network import NetworkSetupError
    from docrsim.server import Server
    from docrsim import listening, terminal
    from docrsim.core.persistence.folder import StateFolder

    problem = (listening.port_clash(api_port, registry_port, proxy_port)
               or listening.probe(host, api_port, registry_port, proxy_port))
    if problem:
        _fail(problem)
    if fsync and not state_dir:
        _fail("--fsync needs --state: without a state folder nothing is written")
    shown = terminal.show_progress()  # a bulk scenario or a big state takes a while: say how far it is
    folder = None
    try:
        folder = StateFolder.open(state_dir, fsync=fsync) if state_dir else None
        start = parse_instant(start_time) if start_time else None
        clock = make_clock(clock_kind, start)
        documents = _read_scenarios(fixtures, shown)
        if start is not None and documents:
            # An explicit --start-time wins over the first scenario's own start.
            documents[0] = {**documents[0], "clock": {"start": start_time}}
        tokens = TokenPolicy.from_file(tokens_file) if tokens_file else None
        rates = Rates(scan_manifests_per_second=gc_scan_rate, delete_objects_per_second=gc_delete_rate)
        sim = Simulation(clock=clock, seed=seed, gc_rates=rates)
        restore(sim, documents, sources=list(fixtures))
        loaded = folder.load(sim) if folder else False
        for warning in folder.warnings if folder else ():
            click.echo(f"docrsim: warning: {warning}", err=True)
        if folder:
            folder.start(sim)
    except DomainError as exc:
        shown.end()
        if folder:
            folder.close()
        _fail_lines(_start_up_problems(exc, fixtures))
    shown.end()
    # A large scenario is hundreds of thousands of long-lived objects; left to Python's cyclic
    # collector they cause pauses of 100 ms or more in whichever request happens to trigger a
    # full collection. This process is ours alone, so take them out of its reach.
    python_gc.collect()
    python_gc.freeze()
    try:
        server = Server(sim, host=host, api_port=api_port, registry_port=registry_port,
                        baseline=documents, tokens=tokens, request_log=_request_log(verbose, log_format),
                        server=wsgi_server, tls=tls, ca_dir=ca_dir, proxy_port=proxy_port, state_folder=folder)
    except NetworkSetupError as exc:
        _fail(str(exc))
    except ImportError as exc:
        _fail(f"--server {wsgi_server} needs a package that is not installed ({exc.name}): pip install {exc.name}")
    except OSError as exc:
        _fail(listening.bind_problem(host, api_port, registry_port, exc, proxy_port))

    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    server.start()
    click.echo(f"API host:      {server.api_url}")
    click.echo(f"registry host: {server.registry_url}")
    if server.proxy is not None:
        click.echo(f"proxy:         {server.proxy_url} (for {server.proxy.describe_routes()})")
    if server.authority is not None:
        click.echo(f"CA:            {server.authority.certificate_path}")
    if folder:
        click.echo(f"state folder:  {state_dir} ({'loaded' if loaded else 'new'}; every change saved before its "
                   f"response{', synced' if fsync else ''})")
    click.echo(f"docrsim ready ({clock.kind} clock at {format_exact_instant(sim.now())}, seed {sim.ids.seed})")
    sys.stdout.flush()
    stopping.wait()
    server.stop()
    if folder:
        try:
            folder.compact()  # the log folded into world.json, so the next start reads one file
        except DomainError as exc:
            click.echo(f"docrsim: {exc.message} (every change is in its log still)", err=True)
            sys.exit(1)
        finally:
            folder.close()
        click.echo(f"state saved to {state_dir}")
    click.echo("docrsim stopped")


def _request_log(verbose: bool, log_format: str):
    from docrsim.http.requestlog import RequestLog

    return RequestLog(sys.stderr, log_format) if verbose else None


def _fail_lines(lines: list[str]) -> None:
    for line in lines:
        click.echo(f"docrsim: {line}", err=True)
    sys.exit(2)


def _read_scenarios(references, shown) -> list[dict]:
    """Every --fixture read; when some cannot be, the problems of all of them, then exit 2."""
    from docrsim.core.errors import DomainError
    from docrsim.scenarios import library

    documents, problems = [], []
    for reference in references:
        try:
            documents.append(library.read(reference))
        except DomainError as exc:
            problems += _start_up_problems(exc, [reference])
    if problems:
        shown.end()
        _fail_lines(problems)
    return documents


def _start_up_problems(error, fixtures) -> list[str]:
    """What stopped the start, a line per problem; a scenario file's problems all of them (the
    schema's and the rules'), with their lines."""
    from docrsim.core.errors import DocumentProblems
    from docrsim.scenarios import check

    if not isinstance(error, DocumentProblems):
        return [error.message]
    for reference in fixtures:
        if error.prefix == f"{reference}: ":
            found = check.problems(reference)
            if found:  # none when the scenario is fine alone (a registry another one also makes)
                return _located(reference, found)
    return error.lines()


@main.group()
def fixture():
    """Work with scenarios: the shipped ones (by name) and scenario files."""


@fixture.command("validate", short_help="Report every problem of scenarios, with their lines.")
@click.argument("references", metavar="NAME|FILE...", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per scenario.")
def validate_fixture(references, as_json):
    """Check scenarios (files, or shipped ones by name) against the format and the model's
    rules, reporting every problem at once; exit 1 if any is invalid."""
    from docrsim import terminal
    from docrsim.scenarios import check

    failed = False
    for reference in references:
        shown = terminal.show_progress()  # the rules are checked by building the content: synthetic-1m takes a while
        try:
            problems = check.problems(reference)
        finally:
            shown.end()
        failed = failed or bool(problems)
        if as_json:
            listed = [{"line": line, "problem": problem} for line, problem in problems]
            click.echo(json.dumps({"file": reference, "valid": not problems, "problems": listed}))
        elif problems:
            for line in _located(reference, problems):
                click.echo(line)
        else:
            click.echo(f"{reference}: ok")
    sys.exit(1 if failed else 0)


def _located(reference, problems) -> list[str]:
    """``FILE:LINE: problem`` lines (``FILE: problem`` where no line can be told)."""
    return [f"{reference}:{line}: {problem}" if line else f"{reference}: {problem}" for line, problem in problems]


@fixture.command("list", short_help="List the shipped scenarios.")
def list_fixtures():
    """The shipped scenarios: their names (for --fixture, fixture load and the Simulator), what
    each is for, and their size."""
    from docrsim.scenarios import library

    entries = library.entries()
    width = max(len(entry.name) for entry in entries)
    click.echo(f"{'NAME':<{width}}  {'REGISTRIES':>10}  {'MANIFESTS':>9}  DESCRIPTION")
    for entry in entries:
        click.echo(f"{entry.name:<{width}}  {entry.registries:>10}  {entry.manifests:>9,}  {entry.description}")


# -- talking to a running docrsim -----------------------------------------------------------------
_URL = click.option("--url", default=control_client.DEFAULT_URL, show_default=True, envvar="DOCRSIM_URL",
                    help="API host of the running docrsim (or set DOCRSIM_URL).")


def _call(url: str, method: str, path: str, body=None, *, token: str | None = None) -> tuple[int, object]:
    try:
        return control_client.call(url, method, path, body, token=token)
    except control_client.ControlError as exc:
        click.echo(f"docrsim: {exc.message}", err=True)
        sys.exit(exc.exit_code)


def _refused(message: str) -> None:
    click.echo(f"docrsim: {message}", err=True)
    sys.exit(control_client.REFUSED)


@main.group("state")
def state_group():
    """Save and restore a running docrsim's whole world (docrsim-state/1 documents).

    Exit codes: 1 the server refused, 2 bad input, 3 no docrsim at the URL."""


@state_group.command("export")
@_URL
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file (atomically), not stdout.")
def export_state(url, output):
    """Print (or save) the state of the docrsim at URL."""
    from docrsim.core.persistence import statefile

    status, document = _call(url, "GET", "/_docrsim/state")
    if status != 200 or not isinstance(document, dict):
        _refused(f"{url} did not give its state: HTTP {status}: {control_client.error_message(document)}")
    if output is None:
        click.echo(json.dumps(document, indent=1))
        return
    try:
        statefile.write(output, document)
    except statefile.StateFileError as exc:
        click.echo(f"docrsim: {exc.message}", err=True)
        sys.exit(control_client.BAD_INPUT)
    click.echo(f"state of {url} saved to {output}")


@state_group.command("compact")
@_URL
def compact_state(url):
    """Fold the state folder's log into its world.json (a docrsim started with --state DIR)."""
    status, answer = _call(url, "POST", "/_docrsim/state/compact")
    if status != 200 or not isinstance(answer, dict):
        _refused(f"{url} did not compact its state: HTTP {status}: {control_client.error_message(answer)}")
    click.echo(f"state of {url} compacted into {answer['folder']}/world.json")


@state_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@_URL
def import_state(path, url):
    """Replace the world of the docrsim at URL with the one saved in PATH."""
    from docrsim.core.persistence import statefile

    try:
        document = statefile.read(path)
    except statefile.StateFileError as exc:
        click.echo(f"docrsim: {exc.message}", err=True)
        sys.exit(control_client.BAD_INPUT)
    from docrsim import terminal

    with terminal.waiting(f"importing {path} into {url}"):
        status, answer = _call(url, "POST", "/_docrsim/reset", {"state": document})
    if status != 204:
        problems = answer.get("problems") if isinstance(answer, dict) else None
        if problems:
            click.echo(f"docrsim: {url} refused {path}: {len(problems)} problems", err=True)
            for problem in problems:
                click.echo(f"docrsim: {path}: {problem}", err=True)
            sys.exit(control_client.REFUSED)
        _refused(f"{url} refused {path}: {control_client.error_message(answer)}")
    click.echo(f"state of {url} replaced with {path}")


@main.command("env")
@_URL
@click.option("--token", envvar="DIGITALOCEAN_ACCESS_TOKEN", default=DEFAULT_TOKEN, show_default=True,
              help="API token the tools use (or set DIGITALOCEAN_ACCESS_TOKEN); with --tokens, a listed one.")
@click.option("--docker-config", type=click.Path(file_okay=False),
              help="Folder to write docker's config.json in [default: $XDG_DATA_HOME/docrsim/docker-config, "
                   "~/.local/share/docrsim/docker-config without XDG_DATA_HOME].")
def env_command(url, token, docker_config):
    """Print `export` lines pointing unmodified tools at the docrsim at URL: eval "$(docrsim env)".

    With the docrsim started with --proxy-port, tools then reach it as api.digitalocean.com and
    registry.digitalocean.com: HTTPS_PROXY and NO_PROXY, the CA bundle for Go/OpenSSL
    (SSL_CERT_FILE), requests (REQUESTS_CA_BUNDLE), curl (CURL_CA_BUNDLE) and Node
    (NODE_EXTRA_CA_CERTS), DIGITALOCEAN_ACCESS_TOKEN, a DOCKER_CONFIG logged in to
    registry.digitalocean.com, and DOCRSIM_URL. The token is checked with one DO API call.
    Exit codes: 1 the server refused (the token too), 2 bad input, 3 no docrsim at the URL."""
    from docrsim.network import environment

    status, endpoints = _call(url, "GET", "/_docrsim/endpoints")
    if status != 200 or not isinstance(endpoints, dict) or "api_url" not in endpoints:
        _refused(f"{url} did not say where it listens: HTTP {status}: {control_client.error_message(endpoints)}")
    # Every tool would be refused with a token this docrsim does not take (one started with
    # --tokens takes only those listed): say so now rather than leave each tool to fail.
    status, answer = _call(url, "GET", "/v2/registries?per_page=1", token=token)
    if status == 401:
        _refused(f"{url} does not accept the token {token!r} ({control_client.error_message(answer)}); "
                 f"give one it was started with (--tokens) as --token or DIGITALOCEAN_ACCESS_TOKEN")
    folder = Path(docker_config) if docker_config else environment.default_docker_config()
    try:
        environment.write_docker_config(folder, token, token, endpoints["registry_host"])
    except OSError as exc:
        click.echo(f"docrsim: cannot write {folder / 'config.json'}: {exc.strerror or exc}", err=True)
        sys.exit(control_client.BAD_INPUT)
    if not endpoints.get("proxy_url"):
        click.echo(f"docrsim: {url} runs no proxy, so DOCR's production names do not reach it; "
                   f"start it with --proxy-port 0 (printing what reaches it directly)", err=True)
    click.echo(environment.export_lines(environment.variables(endpoints, token, folder)), nl=False)


@main.group("clock")
def clock_group():
    """Read or move the simulated clock of a running docrsim (started with --clock manual).

    A script under test can use `docrsim clock advance` in place of `sleep`, so its waits pass
    in simulated time. Exit codes: 1 the server refused, 2 bad input, 3 no docrsim at the URL."""


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600}


def _seconds(text: str) -> float:
    """'90', '90s', '5m' or '1.5h' as seconds."""
    unit = text[-1:].lower()
    number = text[:-1] if unit in _DURATION_UNITS else text
    try:
        seconds = float(number) * _DURATION_UNITS.get(unit, 1)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a duration such as 30, 30s, 5m or 1h") from None
    if not seconds >= 0 or seconds == float("inf"):
        raise click.BadParameter(f"{text!r} is not a duration such as 30, 30s, 5m or 1h")
    return seconds


def _move_clock(url: str, body: dict) -> None:
    status, answer = _call(url, "POST" if body else "GET", "/_docrsim/clock", body or None)
    if status != 200 or not isinstance(answer, dict):
        _refused(f"{url} did not move its clock: HTTP {status}: {control_client.error_message(answer)}")
    click.echo(answer["now"])


@clock_group.command("now")
@_URL
def clock_now(url):
    """Print the simulated time."""
    _move_clock(url, {})


@clock_group.command("advance")
@click.argument("duration")
@_URL
def clock_advance(duration, url):
    """Move the clock forward by DURATION (seconds, or with a unit: 30s, 5m, 1h); prints the new time."""
    _move_clock(url, {"advance_seconds": _seconds(duration)})


@clock_group.command("until-idle")
@_URL
def clock_until_idle(url):
    """Move the clock to the instant every active garbage collection has ended."""
    _move_clock(url, {"until_idle": True})


@main.group("gc")
def gc_group():
    """Look into garbage collection on a running docrsim.

    Exit codes: 1 the server refused (unknown registry), 3 no docrsim at the URL."""


@gc_group.command("preview")
@click.argument("registry")
@_URL
@click.option("--json", "as_json", is_flag=True, help="Print the server's JSON answer (digests included).")
def gc_preview(registry, url, as_json):
    """What each garbage collection type would delete from REGISTRY now."""
    status, preview = _call(url, "GET", f"/_docrsim/registries/{quote(registry, safe='')}/garbage")
    if status == 404:
        _refused(f"{url} has no registry named {registry!r}")
    if status != 200 or not isinstance(preview, dict):
        _refused(f"{url} gave no preview: HTTP {status}: {control_client.error_message(preview)}")
    if as_json:
        click.echo(json.dumps(preview, indent=1))
        return
    width = max(len(gc_type) for gc_type in preview)
    click.echo(f"{'TYPE':<{width}}  {'OBJECTS':>8}  {'BYTES':>14}")
    for gc_type, entry in preview.items():
        click.echo(f"{gc_type:<{width}}  {entry['count']:>8}  {entry['bytes']:>14}")


@fixture.command("load", short_help="Load a scenario into a running docrsim.")
@click.argument("reference", metavar="NAME|FILE")
@click.option("--replace", is_flag=True, help="Replace the whole world with the scenario (a reset to it); "
                                              "without it, add the scenario's registries to the world.")
@_URL
def load_fixture(reference, replace, url):
    """Load a scenario (a shipped one by name, or a file) into the docrsim at URL.

    Exit codes: 1 the server refused (a registry exists, a rule of the model), 2 an unreadable
    or malformed scenario, 3 no docrsim at the URL. Every problem is listed, with its line."""
    from docrsim import terminal
    from docrsim.core.errors import DomainError
    from docrsim.scenarios import check, library

    try:
        document = library.read(reference)  # the schema is checked here; the rules by the server
    except DomainError:
        for line in _located(reference, check.problems(reference)):
            click.echo(f"docrsim: {line}", err=True)
        sys.exit(control_client.BAD_INPUT)
    with terminal.waiting(f"loading {reference} into {url}"):  # synthetic-1m takes the server a while
        if replace:
            status, answer = _call(url, "POST", "/_docrsim/reset", {"fixture": document})
        else:
            status, answer = _call(url, "POST", "/_docrsim/fixtures", document)
    if status not in (201, 204):
        problems = answer.get("problems") if isinstance(answer, dict) else None
        if status == 422:  # the model's rules: each problem, with its line when the scenario is a file
            listed = problems or [control_client.error_message(answer)]
            if library.is_path(reference):
                located = check.locate(Path(reference).read_text(), listed)
            else:
                located = [(None, problem) for problem in listed]
            for line in _located(reference, located):
                click.echo(f"docrsim: {line}", err=True)
            sys.exit(control_client.REFUSED)
        _refused(f"{url} refused {reference}: {control_client.error_message(answer)}")
    if replace:
        click.echo(f"world of {url} replaced with {reference}")
    else:
        click.echo(f"{reference} loaded into {url}: registries {', '.join(answer['registries']) or '(none)'}")
