"""Superset's configuration on the retail stack. `retail stack up` starts Superset with RETAIL_SUPERSET_HOME set to
its folder under the stack home, where the first start wrote ``secrets.json`` (mode 600): no default credentials,
and no start without them."""

import json
import os
from pathlib import Path

_home = Path(os.environ.get("RETAIL_SUPERSET_HOME", ""))
_secrets = _home / "secrets.json"
if not _secrets.is_file():
    raise RuntimeError(
        f"Superset's secrets are missing ({_secrets}): start Superset with `retail stack up`, which generates them"
    )
_values = json.loads(_secrets.read_text())

SECRET_KEY = _values["secret_key"]
SQLALCHEMY_DATABASE_URI = f"sqlite:///{_home / 'data' / 'superset.db'}"
# Every chart query reads the warehouse as it is now: a newly published gold build or a new live minute shows at
# once, and the live view's auto-refresh is never answered from a cache.
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
FEATURE_FLAGS = {"DASHBOARD_NATIVE_FILTERS": True, "ALERT_REPORTS": False}
# Loopback only, no telemetry, no example data.
SUPERSET_WEBSERVER_ADDRESS = "127.0.0.1"
SCARF_ANALYTICS = False
ENABLE_PROXY_FIX = False
