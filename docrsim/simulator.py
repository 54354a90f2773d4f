"""docrsim as a library: start both hosts in-process for a test suite, and drive them.

    from docrsim import Simulator

    with Simulator(fixture="small-app", clock="manual", seed=0) as sim:
        client = pydo.Client(token=sim.token, endpoint=sim.api_url)
        ...
        sim.advance(minutes=15)
        sim.run_until_idle()

The methods mirror the control API but call the model directly; both hosts serve real HTTP on
free ports of 127.0.0.1 from background threads, while nothing but the clock decides outcomes.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime, timedelta
from pathlib import Path

from docrsim.core import images, timekeeping
from docrsim.core.clock import format_instant, make_clock, parse_instant
from docrsim.core.gc import Rates
from docrsim.core.state import Simulation
from docrsim.http.control import restore
from docrsim.scenarios import library
from docrsim.server import Server

DEFAULT_TOKEN = "dop_v1_docrsim"


class Simulator:
    def __init__(self, fixture=None, *, clock: str = "manual", seed: int = 0, start_time: str | None = None,
                 token: str = DEFAULT_TOKEN, host: str = "127.0.0.1", gc_rates: Rates | None = None):
        start = parse_instant(start_time) if start_time else None
        self.token = token
        self._documents = library.documents(fixture)
        if start is not None and self._documents:
            self._documents[0] = {**self._documents[0], "clock": {"start": start_time}}
        self.sim = Simulation(clock=make_clock(clock, start), seed=seed, gc_rates=gc_rates)
        restore(self.sim, self._documents, checked=True)  # library.documents checked them
        self._server = Server(self.sim, host=host, api_port=0, registry_port=0, baseline=self._documents)
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
        """Write a docker ``config.json`` for the registry host. With ``registry``, it holds fresh
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
        auth = base64.b64encode(f"{username}:{password}".encode()).decode()
        path = Path(directory) / "config.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"auths": {self.registry_host: {"auth": auth}}}))
        return path

    def env(self) -> dict[str, str]:
        """Settings DO tools read: the API's URL and a token for it."""
        return {
            "DIGITALOCEAN_API_URL": self.api_url,
            "DIGITALOCEAN_ACCESS_TOKEN": self.token,
            "DIGITALOCEAN_TOKEN": self.token,
            "DOCRSIM_REGISTRY_HOST": self.registry_host,
            "DOCRSIM_URL": self.api_url,  # where `docrsim clock advance` and the other commands go
        }

    def __repr__(self) -> str:
        where = self.api_url if self._started else "not started"
        return f"<Simulator {where} at {format_instant(self.now())}>"
