"""Where a number came from: git commit, package versions, backend, device, machine."""
from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

PACKAGES = ("keras-repro", "keras", "tensorflow", "jax", "jaxlib", "torch", "numpy", "scipy", "pandas",
            "scikit-learn", "scikit-image", "tensorflow-datasets", "matplotlib")


def package_versions() -> dict[str, str | None]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_state(start: Path | None = None) -> dict[str, object]:
    """The commit and dirty flag of the checkout that holds this package (or ``start``)."""
    where = Path(start or Path(__file__).resolve().parent)
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        # Dirty = the code differs from the commit: modified tracked files, or new source files
        # (untracked *.py) that the commit does not contain. Results and caches do not count.
        status = subprocess.run(["git", "status", "--porcelain", "--", ":(top,glob)**/*.py", ":(top)setup.cfg"],
                                cwd=where, capture_output=True, text=True, timeout=10, check=True).stdout
        return {"git_commit": commit, "git_dirty": bool(status.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None, "git_dirty": None}


def device_description() -> str:
    """The accelerator Keras computes on, in words (imports the active backend)."""
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                return f"{len(gpus)} GPU(s): " + ", ".join(
                    tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus)
        elif backend == "jax":
            import jax

            devices = jax.devices()
            if devices and devices[0].platform != "cpu":
                return f"{len(devices)} {devices[0].platform.upper()}(s): {devices[0].device_kind}"
        elif backend == "torch":
            import torch

            if torch.cuda.is_available():
                return f"{torch.cuda.device_count()} GPU(s): {torch.cuda.get_device_name(0)}"
    except Exception as exc:  # device probing must never break a run
        return f"unknown ({exc.__class__.__name__})"
    return f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def device_details() -> dict[str, object]:
    """The accelerators the active backend sees: kind, count, names, and CUDA/driver versions where reported."""
    import keras

    backend = keras.backend.backend()
    out: dict[str, object] = {"kind": "CPU", "count": 0, "names": []}
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
            build = tf.sysconfig.get_build_info()
            out.update(cuda=build.get("cuda_version"), cudnn=build.get("cudnn_version"))
        elif backend == "jax":
            import jax

            devices = [d for d in jax.devices() if d.platform != "cpu"]
            names = [d.device_kind for d in devices]
            if devices:
                out["platform_version"] = getattr(devices[0].client, "platform_version", None)
        elif backend == "torch":
            import torch

            names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] \
                if torch.cuda.is_available() else []
            out["cuda"] = torch.version.cuda
        else:
            names = []
    except Exception as exc:  # device probing must never break a run
        return {**out, "error": f"{exc.__class__.__name__}: {exc}"[:200]}
    if names:
        out.update(kind="GPU", count=len(names), names=names, driver=_nvidia_driver())
    return out


def _nvidia_driver() -> str | None:
    try:
        proc = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip().splitlines()[0] if proc.returncode == 0 and proc.stdout.strip() else None


def machine() -> dict[str, str]:
    return {"platform": platform.platform(), "python": platform.python_version(), "hostname": platform.node()}
