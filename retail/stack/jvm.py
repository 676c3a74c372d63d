"""The project's own JVM code (``jvm/``): compiled once with ``javac`` against the installed pyspark's jars and the
Cassandra Java driver (an artifact group), into a jar cached beside the other artifacts. A change of the sources, of
Spark or of the driver compiles it again."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import pyspark

from retail.settings import REPO_ROOT
from retail.stack.artifacts import SPARK_HOME, fetch, load_groups
from retail.stack.errors import StackError

SOURCES = REPO_ROOT / "jvm" / "src"
DRIVER_GROUP = "cassandra-java-driver"


def serving_jars(cache_dir: Path) -> tuple[Path, ...]:
    """Returns the jars the fresh path's writer needs on Spark's classpath: the compiled writer and the Cassandra
    Java driver's own jars (Spark has the rest), compiling and fetching them on first use."""
    driver = fetch(load_groups(cache_dir)[DRIVER_GROUP])
    driver_jars = tuple(sorted(driver.glob("*.jar")))
    return (_compiled(cache_dir, driver_jars), *driver_jars)


def _compiled(cache_dir: Path, driver_jars: tuple[Path, ...]) -> Path:
    sources = sorted(SOURCES.rglob("*.java"))
    digest = hashlib.sha256()
    for item in (*sources, *driver_jars):
        digest.update(str(item.relative_to(SOURCES) if item in sources else item.name).encode())
        if item in sources:
            digest.update(item.read_bytes())
    digest.update(pyspark.__version__.encode())
    jar = cache_dir / "artifacts" / f"retail-jvm-{digest.hexdigest()[:12]}.jar"
    if jar.exists():
        return jar
    javac = shutil.which("javac")
    if javac is None:
        raise StackError(
            "javac is needed once to compile the fresh path's writer (jvm/): install a JDK"
            " (apt-get install openjdk-17-jdk-headless) and run again"
        )
    classpath = ":".join([f"{SPARK_HOME / 'jars'}/*", *map(str, driver_jars)])
    with tempfile.TemporaryDirectory() as tmp:
        classes = Path(tmp) / "classes"
        done = subprocess.run(
            [
                javac,
                "--release",
                "17",
                "-Xlint:all,-path",
                "-Werror",
                "-cp",
                classpath,
                "-d",
                str(classes),
                *map(str, sources),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise StackError(f"javac could not compile {SOURCES}:\n{(done.stdout + done.stderr)[-3000:]}")
        partial = jar.with_name(f".{jar.name}.{os.getpid()}.partial")  # two processes compiling do not collide
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as out:
            out.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nCreated-By: retail-platform\n\n")
            for path in sorted(classes.rglob("*.class")):
                out.write(path, path.relative_to(classes).as_posix())
        partial.replace(jar)
    return jar
