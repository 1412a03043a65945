"""A real PostgreSQL server (Debian's) on 127.0.0.1 at a free port, in a folder of its
own, for the tests of the journal on PostgreSQL."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from broker import free_port


def _binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (.ci/run installs Debian's package postgresql)")
    return Path(found[-1]).parent


class Postgres:
    def __init__(self) -> None:
        self.bin = _binaries()
        self.port = free_port()
        # a folder of its own straight under /tmp: the server's user must reach it
        self.folder = Path(tempfile.mkdtemp(prefix="journal-pg-"))
        self.data = self.folder / "data"
        # the server refuses to run as root: there it runs as Debian's postgres user
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        if os.geteuid() == 0:
            shutil.chown(self.folder, self.user)
        self.url = f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        prefix = ["runuser", "-u", self.user, "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}")

    def start(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "--auth=trust", "--username", self.user, "-E", "UTF8")
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w", "-t", "30", "start")

    def url_of(self, database: str) -> str:
        return self.url.rsplit("/", 1)[0] + "/" + database

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
