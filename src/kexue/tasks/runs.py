"""Run directories shared by kexue's model tasks (title, qa, linking).

A run directory holds everything a trained system needs, each file written atomically and
listed in a manifest, ``config.json``::

    RUN/
      config.json     task, kexue / Keras versions, backend, settings, files, state
      best.keras      the checkpoint with the best monitored dev score
      last.keras      the latest checkpoint (model + optimizer state: resumable)
      history.csv     one row per finished epoch
      metrics.json    final scores
      ...             named task files or subfolders (vocabulary, stage1/, KB copy, vectors)

Loading checks the manifest: a directory without ``config.json``, one made by another task,
or one whose listed files are missing raises :class:`RunError` (a ``ValueError``: the CLI
turns it into exit code 2) that names the directory and what is wrong. After an interruption
the directory holds the last complete checkpoint and a consistent manifest, never a
half-written file: every write goes to a temporary file renamed into place, and the
manifest is rewritten (atomically) only after the files it lists exist.

Example:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> run = RunDirectory.create(root, "title", {"epochs": 2})
    >>> run.write_json("metrics.json", {"rouge_l": 0.25})
    >>> again = RunDirectory.open(root, "title")
    >>> again.settings["epochs"], again.read_json("metrics.json")["rouge_l"], again.files
    (2, 0.25, ['metrics.json'])
    >>> RunDirectory.open(root, "qa")
    Traceback (most recent call last):
    ...
    kexue.tasks.runs.RunError: ... was made by task 'title', not 'qa'
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kexue import __version__
from kexue._io import atomic_write

__all__ = ["RunError", "RunDirectory", "make_checkpoint", "MANIFEST"]

#: the manifest file of every run directory.
MANIFEST = "config.json"
#: format version of the manifest (bumped on incompatible changes).
FORMAT = 1


class RunError(ValueError):
    """A run directory is missing, foreign, incomplete or already in use."""


def _versions() -> dict[str, str]:
    versions = {"kexue": __version__, "python": platform.python_version()}
    try:
        import keras

        versions["keras"] = keras.__version__
        versions["backend"] = keras.backend.backend()
    except ImportError:  # pragma: no cover - keras is a dependency
        pass
    return versions


class RunDirectory:
    """One run directory: its manifest, its files, atomic writes.

    Use :meth:`create` for a new run, :meth:`open` for an existing one (prediction,
    evaluation, resume). Paths given to the methods are relative to the directory;
    subfolders are made on demand (``"stage1/l2r.keras"``).
    """

    def __init__(self, path: Path, config: dict[str, Any]):
        self.path = Path(path)
        self.config = config

    # --- construction -------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike, task: str, settings: Mapping[str, Any], *,
               overwrite: bool = False) -> RunDirectory:
        """Start a new run in ``path`` (created; it must not hold a run unless ``overwrite``).

        Raises:
            RunError: ``path`` is a file, or a non-empty directory and ``overwrite`` is False.
        """
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise RunError(f"run directory {str(path)!r} is a file, not a directory")
        if path.is_dir() and any(path.iterdir()):
            if not overwrite:
                raise RunError(
                    f"run directory {str(path)!r} is not empty; choose a new directory, "
                    "resume the run in it, or overwrite it"
                )
            if (path / MANIFEST).exists():
                shutil.rmtree(path)
            else:
                raise RunError(
                    f"refusing to overwrite {str(path)!r}: it is not a kexue run directory "
                    f"(no {MANIFEST})"
                )
        if not path.parent.exists():
            raise RunError(f"parent folder of run directory {str(path)!r} does not exist")
        path.mkdir(exist_ok=True)
        config = {
            "format": FORMAT,
            "task": task,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "versions": _versions(),
            "settings": json.loads(json.dumps(dict(settings), default=str)),
            "files": [],
            "state": {},
        }
        run = cls(path, config)
        run._write_manifest()
        return run

    @classmethod
    def open(cls, path: str | os.PathLike, task: str | None = None, *,
             require: tuple[str, ...] = ()) -> RunDirectory:
        """Open an existing run; check its task, its manifest and the files it lists.

        Args:
            path: the run directory.
            task: the task it must belong to (``None``: any task).
            require: files that must be present as well (e.g. ``("best.keras",)``).
        """
        path = Path(path)
        if not path.exists():
            raise RunError(f"run directory {str(path)!r} does not exist")
        if not path.is_dir():
            raise RunError(f"run directory {str(path)!r} is not a directory")
        manifest = path / MANIFEST
        if not manifest.is_file():
            raise RunError(
                f"{str(path)!r} is not a kexue run directory: it has no {MANIFEST}"
            )
        try:
            config = json.loads(manifest.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RunError(f"{manifest}: not a valid run manifest ({exc})") from None
        if not isinstance(config, dict) or "task" not in config or "files" not in config:
            raise RunError(f"{manifest}: not a kexue run manifest (no 'task' or 'files')")
        if config.get("format", 0) > FORMAT:
            raise RunError(
                f"{manifest}: format {config['format']} is newer than this kexue "
                f"understands ({FORMAT}); upgrade kexue"
            )
        if task is not None and config["task"] != task:
            raise RunError(
                f"run directory {str(path)!r} was made by task {config['task']!r}, "
                f"not {task!r}"
            )
        run = cls(path, config)
        missing = [name for name in list(config["files"]) + list(require)
                   if not (path / name).exists()]
        if missing:
            raise RunError(
                f"run directory {str(path)!r} is incomplete: missing "
                + ", ".join(repr(m) for m in missing)
            )
        return run

    # --- manifest -----------------------------------------------------------------------
    @property
    def task(self) -> str:
        return self.config["task"]

    @property
    def settings(self) -> dict[str, Any]:
        return self.config["settings"]

    @property
    def files(self) -> list[str]:
        return list(self.config["files"])

    @property
    def state(self) -> dict[str, Any]:
        """Training state for resuming (epoch, best score, ...); saved with the manifest."""
        return self.config["state"]

    def update_state(self, **values: Any) -> None:
        self.config["state"].update(json.loads(json.dumps(values, default=float)))
        self._write_manifest()

    def update_settings(self, **values: Any) -> None:
        self.config["settings"].update(json.loads(json.dumps(values, default=str)))
        self._write_manifest()

    def _write_manifest(self) -> None:
        with atomic_write(self.path / MANIFEST) as handle:
            json.dump(self.config, handle, ensure_ascii=False, indent=2)
            handle.write("\n")

    def register(self, name: str) -> None:
        """List ``name`` (a file or folder that now exists) in the manifest."""
        if not (self.path / name).exists():
            raise RunError(f"cannot register {name!r}: it does not exist in {self.path}")
        if name not in self.config["files"]:
            self.config["files"].append(name)
        self._write_manifest()

    def has(self, name: str) -> bool:
        return name in self.config["files"] and (self.path / name).exists()

    def file(self, name: str) -> Path:
        """The path of ``name`` inside the run (its folder is created)."""
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    # --- atomic writers -----------------------------------------------------------------
    def write_text(self, name: str, text: str) -> None:
        with atomic_write(self.file(name)) as handle:
            handle.write(text)
        self.register(name)

    def write_bytes(self, name: str, data: bytes) -> None:
        with atomic_write(self.file(name), "wb") as handle:
            handle.write(data)
        self.register(name)

    def write_json(self, name: str, obj: Any) -> None:
        self.write_text(name, json.dumps(obj, ensure_ascii=False, indent=2,
                                         allow_nan=False) + "\n")

    def copy_in(self, source: str | os.PathLike, name: str) -> None:
        """Copy an outside file into the run (atomically), e.g. word vectors or a KB."""
        with open(source, "rb") as src, atomic_write(self.file(name), "wb") as dst:
            shutil.copyfileobj(src, dst)
        self.register(name)

    def read_text(self, name: str) -> str:
        return self._existing(name).read_text(encoding="utf-8")

    def read_json(self, name: str) -> Any:
        try:
            return json.loads(self.read_text(name))
        except json.JSONDecodeError as exc:
            raise RunError(f"{self.path / name}: not valid JSON ({exc})") from None

    def _existing(self, name: str) -> Path:
        target = self.path / name
        if not target.exists():
            raise RunError(f"run directory {str(self.path)!r} has no {name!r}")
        return target

    def save_model(self, model: Any, name: str = "best.keras") -> None:
        """Save a Keras model to ``name`` atomically (temporary file, then rename)."""
        target = self.file(name)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".keras",
                                   dir=target.parent)
        os.close(fd)
        try:
            model.save(tmp)
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        self.register(name)

    def load_model(self, name: str = "best.keras", *, compile: bool = True) -> Any:
        """Load a Keras model saved by :meth:`save_model` (kexue layers are registered)."""
        import keras

        import kexue.layers  # noqa: F401  (registers kexue's serialisable layers)

        return keras.models.load_model(self._existing(name), compile=compile)

    def write_history(self, rows: list[Mapping[str, Any]]) -> None:
        """Write ``history.csv`` (one row per epoch, union of the keys as columns)."""
        columns: list[str] = []
        for row in rows:
            columns += [key for key in row if key not in columns]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        self.write_text("history.csv", buffer.getvalue())

    def read_history(self) -> list[dict[str, Any]]:
        if not self.has("history.csv"):
            return []
        rows = list(csv.DictReader(io.StringIO(self.read_text("history.csv"))))
        return [{k: _number(v) for k, v in row.items()} for row in rows]


def _number(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def make_checkpoint(run: RunDirectory, *, monitor: str, mode: str = "max",
                    extra_logs: Any = None) -> Any:
    """A Keras callback that keeps a run directory resumable after every epoch.

    At each epoch end it (1) adds ``extra_logs(epoch)`` (a dict, e.g. dev ROUGE-L computed
    by the task) to the logs, (2) saves ``last.keras`` (model and optimizer state),
    (3) saves ``best.keras`` when ``logs[monitor]`` improved, (4) rewrites ``history.csv``,
    and (5) records ``{"epoch": epochs done, "best": best value, "best_epoch": ...}`` in the
    manifest's state, in that order, so that an interruption between any two steps leaves
    a consistent run: resume with ``initial_epoch=run.state["epoch"]`` from ``last.keras``.
    """
    import keras

    if mode not in ("max", "min"):
        raise ValueError(f"`mode` must be one of 'max', 'min'; received {mode!r}")

    class _RunCheckpoint(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.history = run.read_history()
            self.best = run.state.get("best")

        def _improved(self, value: float) -> bool:
            if self.best is None:
                return True
            return value > self.best if mode == "max" else value < self.best

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            logs = logs if logs is not None else {}
            if extra_logs is not None:
                logs.update(extra_logs(epoch))
            row = {"epoch": epoch + 1}
            row.update({k: float(v) for k, v in logs.items()})
            run.save_model(self.model, "last.keras")
            value = logs.get(monitor)
            if value is None:
                raise KeyError(
                    f"RunCheckpoint: monitored metric {monitor!r} is not in the epoch logs "
                    f"({sorted(logs)})"
                )
            improved = self._improved(float(value))
            if improved:
                self.best = float(value)
                run.save_model(self.model, "best.keras")
            self.history = [r for r in self.history if r.get("epoch", 0) <= epoch] + [row]
            run.write_history(self.history)
            state = {"epoch": epoch + 1, "best": self.best, "monitor": monitor}
            if improved:
                state["best_epoch"] = epoch + 1
            run.update_state(**state)

    return _RunCheckpoint()

