"""``python -m kexue``: the same command line as ``kexue``."""

from kexue.cli.main import app

if __name__ == "__main__":
    app(prog_name="kexue")
