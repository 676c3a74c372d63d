"""Superset as a stack service: its one-time set-up (metadata migrations, roles, the admin), then gunicorn in this
same process (``exec``: the service's pid stays the server's).

The set-up runs here, in the service's own process, not in ``retail stack up``'s start loop: the other services
start and become healthy while it runs (~1 min on its first start), and the stack waits for Superset's health as for
any other service. It runs once per Superset version (the marker file holds the lock file's digest), and its output
goes to the service's log. The admin's password reaches Superset through this process's environment, never a
command line (which any user can read).

    python -m retail.dashboards.serve MARKER DIGEST -- gunicorn ...
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from retail.dashboards.secrets import read_secrets

PASSWORD_ENV = "RETAIL_SUPERSET_ADMIN_PASSWORD"

# Run by the Superset venv's Python: adds the admin once (roles exist after `superset init`).
_CREATE_ADMIN = """
import os
from superset.app import create_app

app = create_app()
with app.app_context():
    from superset import security_manager as sm

    user = os.environ["RETAIL_SUPERSET_ADMIN_USER"]
    if sm.find_user(username=user) is None:
        admin = sm.find_role(sm.auth_role_admin)
        if admin is None or not sm.add_user(user, "Retail", "Admin", "admin@localhost", admin,
                                            password=os.environ["RETAIL_SUPERSET_ADMIN_PASSWORD"]):
            raise SystemExit(f"could not create Superset's admin {user!r}")
"""


def set_up(bin_dir: Path, home: Path) -> None:
    """Migrates Superset's metadata, sets up its roles and creates the admin; raises CalledProcessError on a
    failed step (its output is in this process's output)."""
    secrets = read_secrets(home)
    env = {
        **os.environ,
        "RETAIL_SUPERSET_ADMIN_USER": secrets.admin_user,
        PASSWORD_ENV: secrets.admin_password.get_secret_value(),
    }
    superset = str(bin_dir / "superset")
    for what, command in (
        ("migrating Superset's metadata", (superset, "db", "upgrade")),
        ("setting up Superset's roles", (superset, "init")),
        ("creating Superset's admin", (str(bin_dir / "python"), "-c", _CREATE_ADMIN)),
    ):
        print(f"retail: {what}", flush=True)
        subprocess.run(command, check=True, env=env)


def main(argv: list[str]) -> None:
    """Sets Superset up when the marker does not hold the digest, then becomes the server command after ``--``."""
    marker, digest, server = Path(argv[0]), argv[1], argv[argv.index("--") + 1 :]
    if not (marker.exists() and marker.read_text() == digest):
        try:
            set_up(Path(server[0]).parent, Path(os.environ["RETAIL_SUPERSET_HOME"]))
        except subprocess.CalledProcessError as err:
            sys.exit(f"retail: Superset's set-up failed ({err}); see the lines above, then `retail stack up` again")
        marker.write_text(digest)
        print("retail: Superset is set up", flush=True)
    os.execv(server[0], server)


if __name__ == "__main__":
    main(sys.argv[1:])
