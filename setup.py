"""Build hook: generate protobuf + grpclib stubs from protos/ into nexon/stubs/.

The stubs are never committed. `pip install .` and `pip install -e .` both run build_py,
so every install (wheel, editable, Docker build stage) gets freshly generated stubs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).parent.resolve()
PROTOS = ROOT / "protos"
STUBS = ROOT / "nexon" / "stubs"


def generate_stubs() -> None:
    from grpc_tools import protoc  # build-time dependency only

    STUBS.mkdir(parents=True, exist_ok=True)
    (STUBS / "__init__.py").write_text('"""Generated from protos/ at build time; do not edit."""\n')
    protos = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.glob("*.proto"))
    include = str(Path(protoc.__file__).parent / "_proto")
    # Map protos/ onto the import path nexon/stubs so generated imports are package-absolute.
    args = [
        "protoc",
        f"-I{include}",
        f"-Inexon/stubs={PROTOS}",
        f"--python_out={ROOT}",
        f"--pyi_out={ROOT}",
        f"--grpclib_python_out={ROOT}",
        *[f"nexon/stubs/{p}" for p in protos],
    ]
    plugin_dir = str(Path(sys.executable).parent)
    import os

    os.environ["PATH"] = plugin_dir + os.pathsep + os.environ.get("PATH", "")
    if protoc.main(args) != 0:
        raise SystemExit(f"protoc failed: {' '.join(args)}")


class BuildWithStubs(build_py):
    def run(self) -> None:
        generate_stubs()
        # In a clean tree (sdist, Docker build stage) nexon/stubs did not exist when the package
        # list was computed, so the freshly generated package would be left out of the wheel.
        if self.packages is not None and "nexon.stubs" not in self.packages:
            self.packages.append("nexon.stubs")
        super().run()


setup(cmdclass={"build_py": BuildWithStubs})
