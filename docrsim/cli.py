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
@click.option("--fixture", "fixtures", multiple=True, type=click.Path(dir_okay=False),
              help="Scenario file to load at start (repeatable; applied in order).")
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
@click.option("--state", "state_file", type=click.Path(dir_okay=False),
              help="Keep the world in this file: load it at start if it exists (the fixtures then only "
                   "set what a reset returns to), save it on Ctrl-C or SIGTERM.")
@click.option("--verbose", is_flag=True, help="Log every request.")
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
                   "[default: $DOCRSIM_CA_DIR, else ~/.local/share/docrsim/ca].")
def serve(host, api_port, registry_port, fixtures, clock_kind, start_time, seed, tokens_file, gc_scan_rate,
          gc_delete_rate, state_file, verbose, wsgi_server, tls, proxy_port, ca_dir):
    """Run the API host and the registry host until interrupted."""
    from docrsim.core.clock import make_clock, parse_instant
    from docrsim.core.credentials import TokenPolicy
    from docrsim.core.errors import DomainError
    from docrsim.core.state import Simulation
    from docrsim.http.control import restore
    from docrsim.scenarios import read_file
    from docrsim.network import NetworkSetupError
    from docrsim.server import Server
    from docrsim import statefile

    try:
        start = parse_instant(start_time) if start_time else None
        clock = make_clock(clock_kind, start)
        documents = [read_file(path) for path in fixtures]
        if start is not None and documents:
            # An explicit --start-time wins over the first scenario's own start.
            documents[0] = {**documents[0], "clock": {"start": start_time}}
        tokens = TokenPolicy.from_file(tokens_file) if tokens_file else None
        rates = Rates(scan_manifests_per_second=gc_scan_rate, delete_objects_per_second=gc_delete_rate)
        sim = Simulation(clock=clock, seed=seed, gc_rates=rates)
        restore(sim, documents, sources=list(fixtures))
        loaded = _load_state(sim, state_file) if state_file else False
    except DomainError as exc:
        _fail(exc.message)
    # A large scenario is hundreds of thousands of long-lived objects; left to Python's cyclic
    # collector they cause pauses of 100 ms or more in whichever request happens to trigger a
    # full collection. This process is ours alone, so take them out of its reach.
    python_gc.collect()
    python_gc.freeze()
    try:
        server = Server(sim, host=host, api_port=api_port, registry_port=registry_port,
                        baseline=documents, tokens=tokens, verbose=verbose, server=wsgi_server,
                        tls=tls, ca_dir=ca_dir, proxy_port=proxy_port)
    except NetworkSetupError as exc:
        _fail(str(exc))
    except ImportError as exc:
        _fail(f"--server {wsgi_server} needs a package that is not installed ({exc.name}): pip install {exc.name}")
    except OSError as exc:
        _fail(f"cannot listen on {host}: {exc.strerror or exc}")

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
    if state_file:
        click.echo(f"state file:    {state_file} ({'loaded' if loaded else 'saved on shutdown'})")
    click.echo(f"docrsim ready ({clock.kind} clock at {sim.now().isoformat()}, seed {sim.ids.seed})", )
    sys.stdout.flush()
    stopping.wait()
    server.stop()
    if state_file:
        try:
            statefile.write(state_file, sim.export_state())
        except DomainError as exc:
            click.echo(f"docrsim: {exc.message}", err=True)
            sys.exit(1)
        click.echo(f"state saved to {state_file}")
    click.echo("docrsim stopped")


def _load_state(sim, path: str) -> bool:
    """Load the world saved in ``path``; False when there is none yet (the first run)."""
    from docrsim import statefile
    from docrsim.core.snapshot_format import StateError

    if not Path(path).exists():
        if not Path(path).absolute().parent.is_dir():
            raise statefile.StateFileError(f"{path}: its directory does not exist, so it could not be saved")
        return False
    try:
        sim.import_state(statefile.read(path))
    except StateError as exc:
        raise statefile.StateFileError(f"{path}: {exc.message}") from None
    return True


@main.group()
def fixture():
    """Work with scenario files."""


@fixture.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per file.")
def validate_fixture(paths, as_json):
    """Check scenario files against the format; exit 1 if any is invalid."""
    from docrsim.core.state import Simulation
    from docrsim.scenarios import ScenarioError, apply, read_file

    failed = False
    for path in paths:
        try:
            # Load into a scratch simulation too: limits and cross-references are only
            # checked when the content is built.
            apply(Simulation(), read_file(path), replace=True)
            problems = []
        except ScenarioError as exc:
            problems = exc.problems
            failed = True
        if as_json:
            click.echo(json.dumps({"file": path, "valid": not problems, "problems": problems}))
        elif problems:
            for problem in problems:
                click.echo(f"{path}: {problem}")
        else:
            click.echo(f"{path}: ok")
    sys.exit(1 if failed else 0)


# -- talking to a running docrsim -----------------------------------------------------------------
_URL = click.option("--url", default=control_client.DEFAULT_URL, show_default=True, envvar="DOCRSIM_URL",
                    help="API host of the running docrsim (or set DOCRSIM_URL).")


def _call(url: str, method: str, path: str, body=None) -> tuple[int, object]:
    try:
        return control_client.call(url, method, path, body)
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
    from docrsim import statefile

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


@state_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@_URL
def import_state(path, url):
    """Replace the world of the docrsim at URL with the one saved in PATH."""
    from docrsim import statefile

    try:
        document = statefile.read(path)
    except statefile.StateFileError as exc:
        click.echo(f"docrsim: {exc.message}", err=True)
        sys.exit(control_client.BAD_INPUT)
    status, answer = _call(url, "POST", "/_docrsim/reset", {"state": document})
    if status != 204:
        _refused(f"{url} refused {path}: {control_client.error_message(answer)}")
    click.echo(f"state of {url} replaced with {path}")


@main.command("env")
@_URL
@click.option("--token", envvar="DIGITALOCEAN_ACCESS_TOKEN", default=DEFAULT_TOKEN, show_default=True,
              help="API token the tools use (or set DIGITALOCEAN_ACCESS_TOKEN); with --tokens, a listed one.")
@click.option("--docker-config", type=click.Path(file_okay=False),
              help="Folder to write docker's config.json in [default: ~/.local/share/docrsim/docker-config].")
def env_command(url, token, docker_config):
    """Print `export` lines pointing unmodified tools at the docrsim at URL: eval "$(docrsim env)".

    With the docrsim started with --proxy-port, tools then reach it as api.digitalocean.com and
    registry.digitalocean.com: HTTPS_PROXY and NO_PROXY, the CA bundle for Go/OpenSSL
    (SSL_CERT_FILE), requests (REQUESTS_CA_BUNDLE), curl (CURL_CA_BUNDLE) and Node
    (NODE_EXTRA_CA_CERTS), DIGITALOCEAN_ACCESS_TOKEN, a DOCKER_CONFIG logged in to
    registry.digitalocean.com, and DOCRSIM_URL. Exit codes: 1 the server refused, 2 bad input,
    3 no docrsim at the URL."""
    from docrsim.network import environment

    status, endpoints = _call(url, "GET", "/_docrsim/endpoints")
    if status != 200 or not isinstance(endpoints, dict) or "api_url" not in endpoints:
        _refused(f"{url} did not say where it listens: HTTP {status}: {control_client.error_message(endpoints)}")
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
