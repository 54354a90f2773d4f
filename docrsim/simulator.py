"""docrsim as a library: start both hosts in-process for a test suite, and drive them.

    from docrsim import Simulator

    with Simulator(fixture="small-app", clock="manual", seed=0) as sim:
        client = pydo.Client(token=sim.token, endpoint=sim.api_url)
        ...
        sim.advance(minutes=15)
        sim.run_until_idle()

The methods mirror the control API but call the model directly; both hosts serve real HTTP on
free ports of 127.0.0.1 from background threads, while nothing but the clock decides outcomes.

With ``proxy=True`` (or ``enable_proxy()`` later) tools reach it by DOCR's production names
instead, unchanged, through the environment ``env()`` gives them:

    with Simulator(proxy=True) as sim:
        os.environ.update(sim.env())
        pydo.Client(token=os.environ["DIGITALOCEAN_ACCESS_TOKEN"]).registries.list()
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from docrsim.core import images, timekeeping
from docrsim.core.clock import format_instant, make_clock, parse_instant
from docrsim.core.gc import Rates
from docrsim.core.state import Simulation
from docrsim.http.control import restore
from docrsim.network import environment
from docrsim.network.environment import DEFAULT_TOKEN
from docrsim.scenarios import library
from docrsim.server import Server



class Simulator:
    def __init__(self, fixture=None, *, clock: str = "manual", seed: int = 0, start_time: str | None = None,
                 token: str = DEFAULT_TOKEN, host: str = "127.0.0.1", gc_rates: Rates | None = None,
                 tls: bool = False, proxy: bool = False, ca_dir: str | os.PathLike | None = None):
        start = parse_instant(start_time) if start_time else None
        self.token = token
        self._documents = library.documents(fixture)
        if start is not None and self._documents:
            self._documents[0] = {**self._documents[0], "clock": {"start": start_time}}
        self.sim = Simulation(clock=make_clock(clock, start), seed=seed, gc_rates=gc_rates)
        restore(self.sim, self._documents, checked=True)  # library.documents checked them
        self._ca_dir = ca_dir
        self._server = Server(self.sim, host=host, api_port=0, registry_port=0, baseline=self._documents,
                              tls=tls, ca_dir=ca_dir, proxy_port=0 if proxy else None)
        self._started = False
        self._start = self.sim.now()

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> "Simulator":
        if not self._started:
            self._server.start()
            self._started = True
        return self

    def stop(self) -> None:
        if self._started:
            self._server.stop()
            self._started = False

    def __enter__(self) -> "Simulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- where it is --------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return self._server.api_url

    @property
    def registry_url(self) -> str:
        return self._server.registry_url

    @property
    def registry_host(self) -> str:
        return self._server.endpoints.registry_host

    @property
    def proxy_url(self) -> str | None:
        """The forward proxy for ``api.digitalocean.com`` and ``registry.digitalocean.com``,
        once started (``proxy=True`` or ``enable_proxy()``)."""
        return self._server.proxy_url

    @property
    def ca_certificate(self) -> str | None:
        """docrsim's CA certificate (PEM), once TLS is on."""
        return self._server.endpoints.ca_certificate

    @property
    def ca_bundle(self) -> str | None:
        """The system's CAs plus docrsim's (PEM), once TLS is on."""
        return self._server.endpoints.ca_bundle

    def enable_tls(self) -> None:
        """Both hosts speak TLS too, from now on (``api_url`` keeps its scheme: plain HTTP keeps
        working on the same ports; ``tls=True`` at construction makes the URLs https)."""
        self._server.enable_tls(self._ca_dir)

    def enable_proxy(self) -> str:
        """Start the forward proxy (and TLS) on a free port; returns its URL. Idempotent."""
        return self._server.start_proxy(0, self._ca_dir)

    # -- time ---------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.sim.now()

    def advance(self, seconds: float = 0, *, minutes: float = 0, hours: float = 0) -> datetime:
        """Move the manual clock forward; GC runs progress as if that time had passed."""
        return timekeeping.advance(self.sim, timedelta(seconds=seconds, minutes=minutes, hours=hours).total_seconds())

    def run_until_idle(self) -> datetime:
        """Advance the manual clock to the instant every active GC run has ended."""
        return timekeeping.run_until_idle(self.sim)

    # -- the world ----------------------------------------------------------------------------
    def reset(self, fixture=None, *, state: dict | None = None) -> None:
        """Back to the scenarios the simulator started with, or to ``fixture`` instead; a manual
        clock goes back to where it started (or to the scenario's own start). With ``state``
        (a document from ``state()``), back exactly to that world instead."""
        if state is not None:
            self.sim.import_state(state)
        else:
            documents = self._documents if fixture is None else library.documents(fixture)
            with self.sim.lock:
                if self.sim.clock.kind == "manual":
                    self.sim.clock.restart(self._start)
                restore(self.sim, documents, checked=True)  # library.documents checked them
        self._server.api_app.config["DOCRSIM_RATELIMIT"].clear()

    def load(self, fixture) -> list[str]:
        """Add a scenario's registries to the current world; returns their names."""
        from docrsim.scenarios import apply

        names = []
        for document in library.documents(fixture):
            names += apply(self.sim, document)
        return names

    def state(self) -> dict:
        """The exact state document ``GET /_docrsim/state`` serves; ``reset(state=...)`` restores it."""
        return self.sim.export_state()

    def push_image(self, registry: str, repository: str, tag: str | None = "latest", *, layers: int = 2,
                   layer_size: int = 1024) -> str:
        """Store an image built from generated layers, as a push would; returns its digest."""
        with self.sim.transaction() as now:
            return images.push_image(self.sim, registry, repository, tag=tag, layers=layers,
                                     layer_size=layer_size, now=now)

    def fail_next_gc(self, registry: str, phase: str = "deleting unreferenced blobs") -> None:
        with self.sim.transaction():
            self.sim.account.registry(registry)
            self.sim.gc.fail_next(registry, phase)

    def gc_rates(self, **rates: float) -> dict:
        """Read, or change, how fast runs started from now on scan and delete (as
        ``PUT /_docrsim/gc-rates``): ``sim.gc_rates(delete_objects_per_second=0.5)``."""
        with self.sim.transaction():
            if rates:
                unknown = set(rates) - set(self.sim.gc.rates.as_dict())
                if unknown:
                    raise TypeError(f"unknown GC rate(s): {', '.join(sorted(unknown))}")
                self.sim.gc.rates = Rates(**{**self.sim.gc.rates.as_dict(), **rates})
            return self.sim.gc.rates.as_dict()

    # -- faults and observation ----------------------------------------------------------------
    def inject(self, **rule) -> dict:
        """Add a fault rule, with the fields ``POST /_docrsim/faults`` takes; returns it with its id.

            sim.inject(operation_id="registries_list", status=429, times=3)
        """
        from docrsim.http.observe import check_operation_id

        check_operation_id(rule.get("operation_id"))
        with self.sim.transaction() as now:
            return self.sim.faults.add(rule, now).as_dict()

    def clear_faults(self) -> None:
        with self.sim.transaction() as now:
            self.sim.faults.clear(now)

    def journal(self, *, method=None, operation_id=None, host=None, status=None,
                include_control: bool = False) -> list[dict]:
        """Every request received (oldest first), as ``GET /_docrsim/journal`` lists them. Each
        filter takes a value or a list of values: ``sim.journal(method=["DELETE", "POST"])``."""
        from docrsim.core.journal import Query
        from docrsim.http.observe import entry_body

        def one(value):
            if value is None:
                return ()
            values = value if isinstance(value, list | tuple | set) else [value]
            return tuple(str(v) for v in values)

        entries, after = [], 0
        while True:
            query = Query(methods=tuple(m.upper() for m in one(method)), operation_ids=one(operation_id),
                          hosts=one(host), statuses=one(status), include_control=include_control, after=after)
            with self.sim.lock:
                page, after = self.sim.journal.select(query)
            entries += [entry_body(entry) for entry in page]
            if after is None:
                return entries

    # -- for tools under test -----------------------------------------------------------------
    def docker_config(self, directory: str | os.PathLike, registry: str | None = None, *,
                      read_write: bool = True) -> Path:
        """Write a docker ``config.json`` for the registry host, by its direct address and by
        ``registry.digitalocean.com``. With ``registry``, it holds fresh
        docker credentials for that registry, as ``docker-credentials`` mints them; without,
        the API token as user name and password, which reaches every registry of the account
        (those created later too), as a DO API token does with ``docker login``."""
        if registry is None:
            username = password = self.token
        else:
            with self.sim.transaction() as now:
                self.sim.account.registry(registry)
                secret = "dop_v1_" + self.sim.ids.hex(32)
                credential = self.sim.credentials.mint(secret, registry=registry, read_write=read_write,
                                                       expiry_seconds=0, now=now)
            username, password = credential.username, credential.secret
        return environment.write_docker_config(directory, username, password, self.registry_host)

    def env(self, docker_config: str | os.PathLike | None = None) -> dict[str, str]:
        """Settings tools read to reach this simulator. With the proxy running, the variables of
        ``docrsim env`` (``HTTPS_PROXY``, the CA bundle variables, the token...), so unchanged
        code reaches it as ``api.digitalocean.com``; without it, ``DIGITALOCEAN_API_URL`` to
        point a tool at ``api_url``. ``docker_config`` (a folder, written by
        ``docker_config()``) adds ``DOCKER_CONFIG``."""
        values = environment.variables(self._server.endpoints.as_dict(), self.token, docker_config)
        if self.proxy_url is None:
            values["DIGITALOCEAN_API_URL"] = self.api_url
        values["DIGITALOCEAN_TOKEN"] = self.token
        values["DOCRSIM_REGISTRY_HOST"] = self.registry_host
        return values

    def __repr__(self) -> str:
        where = self.api_url if self._started else "not started"
        return f"<Simulator {where} at {format_instant(self.now())}>"
