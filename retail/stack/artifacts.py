"""Service artifacts: Maven Central jars resolved once into a cache outside the repo, one folder per group."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pyspark

from retail.settings import REPO_ROOT
from retail.stack.errors import StackError

ARTIFACTS_FILE = REPO_ROOT / "infra/stack/artifacts.toml"
SPARK_HOME = Path(pyspark.__file__).parent

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>retail.stack</groupId><artifactId>{name}</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
{dependencies}
  </dependencies>
</project>
"""
_DEPENDENCY = "    <dependency><groupId>{}</groupId><artifactId>{}</artifactId><version>{}</version></dependency>"


@dataclass(frozen=True)
class ArtifactGroup:
    """One service's jars: Maven coordinates and the cache folder they resolve into."""

    name: str
    version: str
    coordinates: tuple[str, ...]
    cache_dir: Path
    keep: tuple[str, ...] = ()  # artifact ids to keep of the resolved jars (none: every one)

    @property
    def lib(self) -> Path:
        """Returns the folder the group's jars resolve into."""
        digest = hashlib.sha256("\n".join((*self.coordinates, *self.keep)).encode()).hexdigest()[:10]
        return self.cache_dir / "artifacts" / f"{self.name}-{self.version}-{digest}"

    @property
    def ready(self) -> bool:
        """Returns whether every jar is there."""
        return (self.lib / ".complete").exists()

    def jars(self) -> list[Path]:
        """Returns the jars' paths."""
        return sorted(self.lib.glob("*.jar"))

    def classpath(self) -> str:
        """Returns the jars as a Java classpath."""
        return f"{self.lib}/*"


def load_groups(cache_dir: Path, spec: Path = ARTIFACTS_FILE) -> dict[str, ArtifactGroup]:
    """Returns every artifact group named in ``infra/stack/artifacts.toml``, keyed by name."""
    spark_version = pyspark.__version__
    raw = tomllib.loads(spec.read_text())
    return {
        name: ArtifactGroup(
            name=name,
            version=entry["version"].format(spark_version=spark_version),
            coordinates=tuple(c.format(spark_version=spark_version) for c in entry["coordinates"]),
            cache_dir=cache_dir,
            keep=tuple(entry.get("keep", ())),
        )
        for name, entry in raw.items()
    }


def fetch(group: ArtifactGroup) -> Path:
    """Returns the folder holding the group's jars and their runtime dependencies, resolving them on first use."""
    if group.ready:
        return group.lib
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError(
            f"Maven (mvn) is needed once to fetch the {group.name} jars from Maven Central: "
            "install it (apt-get install maven) and run again"
        )
    dependencies = "\n".join(_DEPENDENCY.format(*c.split(":")) for c in group.coordinates)
    staging = group.lib.with_name(group.lib.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        pom = Path(tmp) / "pom.xml"
        pom.write_text(_POM.format(name=group.name, dependencies=dependencies))
        result = subprocess.run(
            [
                mvn,
                "-B",
                "-q",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={staging}",
                "-DincludeScope=runtime",
                *([f"-DincludeArtifactIds={','.join(group.keep)}"] if group.keep else []),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
        raise StackError(
            f"could not fetch the {group.name} artifacts ({', '.join(group.coordinates)}) from Maven Central.\n"
            f"Check that Maven Central is reachable (mvn settings, proxy) and run again. Maven said:\n{tail}"
        )
    (staging / ".complete").write_text("\n".join(group.coordinates) + "\n")
    shutil.rmtree(group.lib, ignore_errors=True)
    staging.rename(group.lib)
    return group.lib
