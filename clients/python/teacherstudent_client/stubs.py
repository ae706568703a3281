"""Python stubs for protos/distill/v1, generated from the .proto files with grpc_tools.

Nothing generated is committed: the stubs are made the first time they are imported, into
build/stubs/<digest of the .proto files>/ beside this package (or TEACHERSTUDENT_STUBS_DIR),
and made again whenever a .proto file changes, so they can never drift from the contract.
The .proto files use nothing newer than Debian 12's python3-grpc-tools (protoc 3.5) reads, so
they are compiled as they are.
"""

import hashlib
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def protos_dir() -> Path:
    """Where protos/ is: TEACHERSTUDENT_PROTOS, else the repository's protos/ two folders up."""
    configured = os.environ.get("TEACHERSTUDENT_PROTOS")
    path = Path(configured) if configured else PACKAGE_DIR.parents[2] / "protos"
    if not (path / "distill" / "v1" / "teacher.proto").is_file():
        raise FileNotFoundError(
            f"no distill/v1/teacher.proto under {path}: set TEACHERSTUDENT_PROTOS to the repository's protos/ folder")
    return path


def _proto_files(root: Path) -> list:
    return sorted((root / "distill" / "v1").glob("*.proto"))


def _digest(root: Path, files: list) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def generate(out_root: Path = None) -> Path:
    """Generates the stubs (when not there yet) and returns the folder to put on sys.path."""
    root = protos_dir()
    files = _proto_files(root)
    out_root = Path(os.environ.get("TEACHERSTUDENT_STUBS_DIR", out_root or PACKAGE_DIR.parent / "build" / "stubs"))
    target = out_root / _digest(root, files)
    if (target / "distill" / "v1" / "teacher_pb2_grpc.py").is_file():
        return target

    out_root.mkdir(parents=True, exist_ok=True)
    # Generated into a temporary folder and renamed into place, so that two processes starting
    # at once never import half-written stubs.
    work = Path(tempfile.mkdtemp(prefix=".stubs-", dir=out_root))
    try:
        failure = _protoc(root, files, work)
        if failure:
            raise RuntimeError(f"grpc_tools.protoc failed on {root}:\n{failure}")
        try:
            work.rename(target)
        except OSError:
            if not (target / "distill" / "v1" / "teacher_pb2_grpc.py").is_file():
                raise  # another process did not win the race either: a real error
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return target


def _protoc(root: Path, files: list, out: Path) -> str:
    """Runs grpc_tools.protoc (in a child process, so its messages do not reach our stderr);
    returns its error output when it fails, else an empty string."""
    args = [sys.executable, "-m", "grpc_tools.protoc", f"-I{root}", f"--python_out={out}", f"--grpc_python_out={out}"]
    run = subprocess.run(args + [str(f) for f in files], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return "" if run.returncode == 0 else (run.stderr.strip() or f"exit code {run.returncode}")


def load():
    """Imports and returns (teacher_pb2, teacher_pb2_grpc), generating them first if needed."""
    path = str(generate())
    if path not in sys.path:
        sys.path.insert(0, path)
    pb2 = importlib.import_module("distill.v1.teacher_pb2")
    pb2_grpc = importlib.import_module("distill.v1.teacher_pb2_grpc")
    return pb2, pb2_grpc
