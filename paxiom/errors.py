"""User-facing errors: anything a user can cause ends here, printed as one line, exit code 2."""


class PaxiomError(Exception):
    """Bad input or usage; the message names the problem and, where known, where it is."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)
