"""Superset's REST API as the platform uses it: log in as the admin, import the dashboards bundle (creating or
updating every object in it), and delete the objects an earlier import of this project made that the bundle no
longer has. What the project imported is recorded beside Superset's own database (``imported.json`` in its home):
Superset keeps no trace of which bundle an object came from, and objects made elsewhere (by hand, or by another
bundle) are never deleted."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import requests

from retail.dashboards.bundle import SPEC, Bundle, build
from retail.dashboards.secrets import read_secrets
from retail.settings import Settings

# Each import endpoint overwrites only its own kind (a dashboard import leaves existing charts as they were), so
# the same bundle goes to all four, in dependency order.
KINDS = ("database", "dataset", "chart", "dashboard")
IMPORTED = "imported.json"


class SupersetError(RuntimeError):
    """Superset refused or could not be reached; the message says what to do."""


@dataclass(frozen=True)
class ImportResult:
    """What an import did: the dashboards' addresses and the objects of earlier imports it deleted."""

    dashboards: dict[str, str]
    deleted: list[str]


def superset_url(settings: Settings) -> str:
    """Returns Superset's address on the stack."""
    return f"http://{settings.stack.host}:{settings.stack.superset_port}"


class Superset:
    """One logged-in API session (JWT plus the CSRF token the write endpoints want)."""

    def __init__(self, settings: Settings, timeout_s: float = 120.0) -> None:
        self.url = superset_url(settings)
        self.timeout_s = timeout_s
        secrets = read_secrets(settings.stack.home / "superset")
        self.http = requests.Session()
        try:
            login = self.http.post(
                f"{self.url}/api/v1/security/login",
                json={
                    "username": secrets.admin_user,
                    "password": secrets.admin_password.get_secret_value(),
                    "provider": "db",
                    "refresh": False,
                },
                timeout=timeout_s,
            )
        except requests.ConnectionError as err:
            raise SupersetError(f"Superset does not answer at {self.url}: start it with `retail stack up`") from err
        self._check(login, "log in")
        self.http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        csrf = self.http.get(f"{self.url}/api/v1/security/csrf_token/", timeout=timeout_s)
        self._check(csrf, "get a CSRF token")
        self.http.headers.update({"X-CSRFToken": csrf.json()["result"], "Referer": self.url})

    def get(self, path: str, **query) -> dict:
        """Returns the JSON of a GET on the API (``q`` given as a dict is sent as Rison-compatible JSON)."""
        params = {"q": json.dumps(query)} if query else None
        response = self.http.get(f"{self.url}/api/v1/{path}", params=params, timeout=self.timeout_s)
        self._check(response, f"read {path}")
        return response.json()

    def import_bundle(self, bundle: Bundle) -> None:
        """Imports every object of ``bundle``, overwriting the ones that exist."""
        archive = bundle.zip()
        for kind in KINDS:
            response = self.http.post(
                f"{self.url}/api/v1/{kind}/import/",
                files={"formData": ("bundle.zip", archive, "application/zip")},
                data={"overwrite": "true"},
                timeout=self.timeout_s,
            )
            self._check(response, f"import the {kind}s")

    def managed(self, kind: str) -> dict[str, int]:
        """Returns uuid -> id of every object of ``kind`` (chart, dashboard) imported as managed from the repo."""
        return self.ids(kind, managed_only=True)

    def ids(self, kind: str, *, managed_only: bool = False) -> dict[str, int]:
        """Returns uuid -> id of every object of ``kind`` (or of the ones imported as managed from the repo)."""
        found, page = {}, 0
        columns = ["id", "uuid", *(["is_managed_externally"] if managed_only else [])]
        while True:
            result = self.get(kind, columns=columns, page=page, page_size=100)
            for row in result["result"]:
                if row.get("is_managed_externally") or not managed_only:
                    found[str(row["uuid"])] = row["id"]
            if len(result["result"]) < 100:
                return found
            page += 1

    def delete(self, kind: str, object_id: int) -> None:
        """Deletes one object of ``kind``."""
        response = self.http.delete(f"{self.url}/api/v1/{kind}/{object_id}", timeout=self.timeout_s)
        self._check(response, f"delete {kind} {object_id}")

    @staticmethod
    def _check(response: requests.Response, what: str) -> None:
        if not response.ok:
            raise SupersetError(f"Superset refused to {what}: HTTP {response.status_code} {response.text[:500]}")


def import_dashboards(settings: Settings, spec: Path = SPEC) -> ImportResult:
    """Imports the dashboards bundle of ``spec`` (databases pointing where ``settings`` say) and removes the objects
    an earlier import made that it no longer has; returns each dashboard's address and what it deleted."""
    bundle = build(settings, spec)
    record = settings.stack.home / "superset" / IMPORTED
    imported = json.loads(record.read_text()) if record.exists() else {}
    wanted = bundle_uuids(bundle)
    api = Superset(settings)
    # Recorded before the import: an import or a deletion that fails half-way still knows every object it may own.
    _write_record(record, {kind: set(imported.get(kind, ())) | wanted[kind] for kind in KINDS})
    api.import_bundle(bundle)
    deleted = []
    for kind, object_uuid, object_id in stale({kind: api.ids(kind) for kind in KINDS}, imported, wanted):
        api.delete(kind, object_id)
        deleted.append(f"{kind} {object_id} ({object_uuid})")
    _write_record(record, wanted)
    slugs = {d["slug"]: key for key, d in ((k, bundle.files[f"dashboards/{k}.yaml"]) for k in bundle.dashboards)}
    return ImportResult({key: f"{api.url}/superset/dashboard/{slug}/" for slug, key in slugs.items()}, deleted)


def bundle_uuids(bundle: Bundle) -> dict[str, set[str]]:
    """Returns the uuids of the bundle's objects by kind (database, dataset, chart, dashboard)."""
    uuids: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for path, body in bundle.files.items():
        folder = path.split("/")[0]
        if folder != path:  # metadata.yaml is no object
            uuids[folder.removesuffix("s")].add(body["uuid"])
    return uuids


def stale(
    present: Mapping[str, Mapping[str, int]],
    imported: Mapping[str, Iterable[str]],
    wanted: Mapping[str, Iterable[str]],
) -> list[tuple[str, str, int]]:
    """Returns (kind, uuid, id) of each object to delete: ``present`` in Superset (kind -> uuid -> id), ``imported``
    by this project before and no longer ``wanted`` by the bundle. Dependents come first (dashboards, charts,
    datasets, databases), so nothing is deleted from under an object still to be deleted."""
    dropped = {kind: set(imported.get(kind, ())) - set(wanted.get(kind, ())) for kind in KINDS}
    return [
        (kind, object_uuid, object_id)
        for kind in reversed(KINDS)
        for object_uuid, object_id in sorted(present.get(kind, {}).items())
        if object_uuid in dropped[kind]
    ]


def _write_record(path: Path, uuids: Mapping[str, Iterable[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({kind: sorted(uuids.get(kind, ())) for kind in KINDS}, indent=1))
