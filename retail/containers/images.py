"""The project's images (``infra/images``): one base and one image per service FROM it. Every tag is the digest of
what goes into the image, so a build finds the images that exist and builds only the ones that changed.

The base comes from ``RETAIL_IMAGE_REGISTRY`` when one serves it; otherwise it is built from Debian's mirror with
mmdebstrap (the apt mirror this machine already uses) and imported under the same name, since Docker Hub may not be
reachable. The service images hold the jars of the native stack's artifact cache (``infra/stack/artifacts.toml``),
so both stacks run the same versions."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import docker
import pyspark
from docker.errors import APIError, BuildError, ImageNotFound

from retail.containers.engine import Engine
from retail.settings import REPO_ROOT, Settings
from retail.stack.artifacts import SPARK_HOME, ArtifactGroup, fetch, load_groups
from retail.stack.errors import StackError
from retail.stack.services import CONF_TEMPLATES

IMAGES_DIR = REPO_ROOT / "infra/images"
REPOSITORY = "retail"  # every image is retail/<name>:<digest>
REGISTRY_ENV = "RETAIL_IMAGE_REGISTRY"


@dataclass(frozen=True)
class Base:
    """The base image: a Debian suite and the packages every service needs."""

    suite: str
    mirror: str
    packages: tuple[str, ...]

    @property
    def tag(self) -> str:
        """Returns the base's tag: the digest of its suite, mirror and packages."""
        return f"{REPOSITORY}/base:{_digest([self.suite, self.mirror, *sorted(self.packages)])}"


@dataclass(frozen=True)
class ServiceImage:
    """One service's image: its Dockerfile, the artifact groups (and Spark's jars) it holds, its config."""

    name: str
    dockerfile: Path
    artifacts: tuple[ArtifactGroup, ...]
    conf: str | None
    spark: bool

    def inputs(self) -> list[Path]:
        """Returns every file that goes into the image (the Dockerfile first)."""
        files = [self.dockerfile]
        for group in self.artifacts:
            files += group.jars()
        if self.conf:
            files += sorted(p for p in (CONF_TEMPLATES / self.conf).rglob("*") if p.is_file())
        if self.spark:
            files += _spark_jars()
        return files

    def tag(self, base: Base) -> str:
        """Returns the image's tag: the digest of its base, Dockerfile, jars (name and size) and config."""
        parts = [base.tag]
        for path in self.inputs():
            content = path.read_bytes() if path.suffix != ".jar" else str(path.stat().st_size).encode()
            parts.append(f"{path.name}:{hashlib.sha256(content).hexdigest()}")
        if self.spark:
            parts.append(f"pyspark:{pyspark.__version__}")
        return f"{REPOSITORY}/{self.name}:{_digest(parts)}"


@dataclass(frozen=True)
class Built:
    """What a build did for one image."""

    name: str
    tag: str
    built: bool  # False: the image was there already
    seconds: float
    size_mb: float


def load_images(settings: Settings, spec: Path = IMAGES_DIR / "images.toml") -> tuple[Base, list[ServiceImage]]:
    """Returns the base and the service images ``infra/images/images.toml`` declares."""
    raw = tomllib.loads(spec.read_text())
    base_raw = raw.pop("base")
    base = Base(base_raw["suite"], base_raw["mirror"], tuple(base_raw["packages"]))
    groups = load_groups(settings.stack.cache_dir)
    services = [
        ServiceImage(
            name=name,
            dockerfile=spec.parent / entry["dockerfile"],
            artifacts=tuple(groups[g] for g in entry.get("artifacts", ())),
            conf=entry.get("conf"),
            spark=bool(entry.get("spark", False)),
        )
        for name, entry in raw.items()
    ]
    return base, services


def build_images(
    engine: Engine,
    settings: Settings,
    names: Iterable[str] | None = None,
    report: Callable[[str], None] = print,
) -> list[Built]:
    """Returns the base and each service image (all, or ``names``), building only those whose tag is missing."""
    base, services = load_images(settings)
    wanted = set(names) if names is not None else None
    unknown = (wanted or set()) - {s.name for s in services}
    if unknown:
        raise StackError(f"no such image: {', '.join(sorted(unknown))} (known: {', '.join(s.name for s in services)})")
    client = engine.client()
    try:
        results = [_ensure_base(client, base, report)]
        for image in services:
            if wanted is None or image.name in wanted:
                results.append(_ensure_service(client, image, base, report))
        return results
    finally:
        client.close()


def _ensure_base(client: docker.DockerClient, base: Base, report: Callable[[str], None]) -> Built:
    began = time.monotonic()
    if (found := _existing(client, base.tag)) is not None:
        return Built("base", base.tag, False, 0.0, found)
    if registry := os.environ.get(REGISTRY_ENV):
        try:
            report(f"pulling {base.tag} from {registry}")
            client.images.pull(f"{registry}/{base.tag}").tag(base.tag)
            return Built("base", base.tag, True, time.monotonic() - began, _existing(client, base.tag) or 0.0)
        except APIError as err:
            report(f"{registry} does not serve it ({err.explanation}): building it from {base.mirror}")
    mmdebstrap = shutil.which("mmdebstrap") or _install_mmdebstrap(report)
    report(f"building {base.tag} from {base.mirror} ({base.suite}: {', '.join(base.packages)})")
    with tempfile.TemporaryDirectory(prefix="retail-base-") as tmp:
        rootfs = Path(tmp) / "rootfs.tar"
        command = [
            mmdebstrap,
            "--variant=minbase",
            "--quiet",
            f"--include={','.join(base.packages)}",
            base.suite,
            str(rootfs),
            base.mirror,
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise StackError(
                f"mmdebstrap could not build the base image from {base.mirror}; check that the mirror is reachable. "
                f"It said:\n{(result.stdout + result.stderr)[-2000:]}"
            )
        repository, tag = base.tag.split(":")
        client.api.import_image_from_file(str(rootfs), repository=repository, tag=tag)
    return Built("base", base.tag, True, time.monotonic() - began, _existing(client, base.tag) or 0.0)


def _ensure_service(
    client: docker.DockerClient, image: ServiceImage, base: Base, report: Callable[[str], None]
) -> Built:
    began = time.monotonic()
    for group in image.artifacts:
        fetch(group)  # the same cache as the native stack: resolved once from Maven Central
    tag = image.tag(base)
    if (found := _existing(client, tag)) is not None:
        return Built(image.name, tag, False, 0.0, found)
    report(f"building {tag}")
    with tempfile.TemporaryDirectory(prefix=f"retail-{image.name}-") as tmp:
        context = Path(tmp)
        shutil.copy(image.dockerfile, context / "Dockerfile")
        _place((j for g in image.artifacts for j in g.jars()), context / "lib")
        if image.conf:
            shutil.copytree(CONF_TEMPLATES / image.conf, context / "conf")
        if image.spark:
            _place(_spark_jars(), context / "spark" / "jars")
        try:
            # No network while building: everything the image needs is in its context.
            client.images.build(path=str(context), tag=tag, buildargs={"BASE": base.tag}, rm=True, network_mode="none")
        except BuildError as err:
            log = "".join(str(chunk.get("stream", chunk.get("error", ""))) for chunk in err.build_log)
            raise StackError(f"building {tag} failed: {err.msg}\n{log[-2000:]}") from err
    return Built(image.name, tag, True, time.monotonic() - began, _existing(client, tag) or 0.0)


def _existing(client: docker.DockerClient, tag: str) -> float | None:
    """Returns the size in MB of the image tagged ``tag``, or None when there is none."""
    try:
        return client.images.get(tag).attrs["Size"] / 1e6
    except ImageNotFound:
        return None


def _place(files: Iterable[Path], folder: Path) -> None:
    """Puts ``files`` into a build context folder: hard links where the filesystem allows, copies otherwise."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in files:
        try:
            os.link(path, folder / path.name)
        except OSError:
            shutil.copy2(path, folder / path.name)


def _spark_jars() -> list[Path]:
    return sorted((SPARK_HOME / "jars").glob("*.jar"))


def _install_mmdebstrap(report: Callable[[str], None]) -> str:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise StackError(
            "the base image is built with mmdebstrap, which is not installed: install it (apt-get install "
            f"mmdebstrap), or set {REGISTRY_ENV} to a registry that serves the project's base image"
        )
    report("installing mmdebstrap with apt-get (it builds the base image from Debian's mirror)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = "apt-get update -qq && apt-get install -y -qq mmdebstrap"
    result = subprocess.run(["sh", "-c", command], env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0 or (path := shutil.which("mmdebstrap")) is None:
        raise StackError(f"could not install mmdebstrap:\n{(result.stdout + result.stderr)[-2000:]}")
    return path


def _digest(parts: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]
