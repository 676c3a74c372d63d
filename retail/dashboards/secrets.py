"""Superset's secrets: generated on its first start into the stack home (mode 600), never defaulted, never logged."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from pydantic import BaseModel, SecretStr

SECRETS_FILE = "secrets.json"
ADMIN_USER = "admin"


class SupersetSecrets(BaseModel):
    """The session-signing key and the admin's login; ``repr`` and logs show neither secret."""

    secret_key: SecretStr
    admin_user: str
    admin_password: SecretStr


def ensure_secrets(home: Path) -> SupersetSecrets:
    """Returns Superset's secrets from ``home``, generating them first (readable by this user only) if absent."""
    path = home / SECRETS_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        values = {
            "secret_key": secrets.token_urlsafe(48),
            "admin_user": ADMIN_USER,
            "admin_password": secrets.token_urlsafe(12),
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(values, out)
    return read_secrets(home)


def read_secrets(home: Path) -> SupersetSecrets:
    """Returns Superset's secrets; raises FileNotFoundError saying what to run when Superset never started."""
    path = home / SECRETS_FILE
    if not path.exists():
        raise FileNotFoundError(f"Superset has no secrets yet ({path}): run `retail stack up`, which generates them")
    return SupersetSecrets.model_validate_json(path.read_text())
