"""Errors whose message is meant for the user (the CLI prints them as one line, no traceback)."""


class CargogymError(RuntimeError):
    """Base class for user-facing errors."""


class CargoNotFoundError(CargogymError):
    def __init__(self) -> None:
        super().__init__(
            "cargo not found on PATH. Install the Rust toolchain (https://rustup.rs: "
            "`curl https://sh.rustup.rs -sSf | sh`, or your distribution's cargo package) and retry."
        )


def require_cargo() -> str:
    """Path to cargo, or :class:`CargoNotFoundError` with install instructions."""
    import shutil

    path = shutil.which("cargo")
    if path is None:
        raise CargoNotFoundError()
    return path
