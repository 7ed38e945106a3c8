"""Start and stop throwaway ``redis-server`` and ``memcached`` processes for tests.

Each server listens on a free loopback port, keeps nothing on disk and is
stopped by :meth:`Server.stop` (and, as a safety net, at interpreter exit).  Readiness is checked with a raw socket
(``PING`` / ``version``), so this module needs no client library and can be
used by tests and benchmarks alike::

    from tests.servers import start_memcached, start_redis

    with start_redis() as redis_server, start_memcached() as mc_server:
        print(redis_server.port, mc_server.port)

A missing binary raises :class:`ServerUnavailable` naming the Debian package to
install: tests must fail loudly, not skip, when a server cannot be started.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import final

HOST = "127.0.0.1"
_START_TIMEOUT = 10.0
_PORT_ATTEMPTS = 5


class ServerUnavailable(RuntimeError):
    """A test server could not be started (binary missing or it never answered)."""


@final
@dataclass
class Server:
    """A running server process and where it listens."""

    name: str
    host: str
    port: int
    process: subprocess.Popen[bytes]
    workdir: Path | None = None
    extra_ports: tuple[int, ...] = field(default=())

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def stop(self) -> None:
        """Terminate the process (kill it if it lingers) and remove its work dir."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


_running: list[Server] = []


@atexit.register
def _stop_all() -> None:
    for server in _running:
        server.stop()


def free_port() -> int:
    """Return a TCP port on the loopback interface that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _binary(name: str, package: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/bin:/usr/sbin")
    if path is None:
        raise ServerUnavailable(
            f"`{name}` is not installed: the runtime tests need a real server. "
            f"Install the Debian package: apt-get install -y {package}"
        )
    return path


def _ask(port: int, request: bytes, timeout: float = 0.5) -> bytes:
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(request)
        return sock.recv(4096)


def _wait_until(server: Server, request: bytes, expected: bytes) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerUnavailable(f"{server.name} exited with code {server.process.returncode}")
        try:
            if expected in _ask(server.port, request):
                return
        except OSError:
            pass
        time.sleep(0.02)
    raise ServerUnavailable(f"{server.name} on port {server.port} did not answer in time")


def _spawn(name: str, argv: list[str], port: int, workdir: Path | None) -> Server:
    process = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=workdir,
    )
    return Server(name=name, host=HOST, port=port, process=process, workdir=workdir)


def _start(
    name: str,
    make_argv: Callable[[int, int, Path | None], list[str]],
    probe: tuple[bytes, bytes],
    *,
    with_workdir: bool = False,
) -> Server:
    last_error: Exception | None = None
    for _ in range(_PORT_ATTEMPTS):  # another process may grab the port first
        port, extra = free_port(), free_port()
        workdir = Path(tempfile.mkdtemp(prefix=f"cachelint-{name}-")) if with_workdir else None
        server = _spawn(name, make_argv(port, extra, workdir), port, workdir)
        server.extra_ports = (extra,)
        try:
            _wait_until(server, *probe)
        except ServerUnavailable as exc:
            stderr = b""
            server.stop()
            if server.process.stderr is not None:
                stderr = server.process.stderr.read()
            last_error = ServerUnavailable(f"{exc}: {stderr.decode(errors='replace').strip()}")
            continue
        _running.append(server)
        return server
    raise ServerUnavailable(f"could not start {name}: {last_error}")


def start_redis(*, cluster: bool = False) -> Server:
    """Start ``redis-server`` with persistence off.

    With ``cluster=True`` the server runs in cluster mode and owns all 16384
    slots: a one-node cluster, enough for ``RedisCluster`` clients.
    """
    binary = _binary("redis-server", "redis-server")

    def argv(port: int, bus_port: int, workdir: Path | None) -> list[str]:
        args = [binary, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"]
        if cluster:
            assert workdir is not None
            args += [
                "--cluster-enabled", "yes",
                "--cluster-port", str(bus_port),
                "--cluster-config-file", str(workdir / "nodes.conf"),
                "--dir", str(workdir),
            ]
        return args

    server = _start(
        "redis-cluster" if cluster else "redis-server",
        argv,
        (b"PING\r\n", b"+PONG"),
        with_workdir=cluster,
    )
    if cluster:
        _ask(server.port, b"CLUSTER ADDSLOTSRANGE 0 16383\r\n")
        _wait_until(server, b"CLUSTER INFO\r\n", b"cluster_state:ok")
    return server


def start_memcached() -> Server:
    """Start ``memcached`` on TCP only (``-U 0``), 64 MB of memory."""
    binary = _binary("memcached", "memcached")
    as_root = ["-u", "root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []

    def argv(port: int, _extra: int, _workdir: Path | None) -> list[str]:
        return [binary, "-l", HOST, "-p", str(port), "-U", "0", "-m", "64", *as_root]

    return _start("memcached", argv, (b"version\r\n", b"VERSION"))


def flush_redis(server: Server) -> None:
    """Drop every key (FLUSHALL) without a client library."""
    if b"+OK" not in _ask(server.port, b"FLUSHALL\r\n", timeout=5):
        raise RuntimeError(f"FLUSHALL failed on {server.address}")


def flush_memcached(server: Server) -> None:
    """Invalidate every item (flush_all) without a client library."""
    if b"OK" not in _ask(server.port, b"flush_all\r\n", timeout=5):
        raise RuntimeError(f"flush_all failed on {server.address}")
