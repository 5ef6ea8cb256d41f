"""The JSON-RPC error the simulator's Telecom methods raise; the dispatch renders it."""

from __future__ import annotations


class RpcError(Exception):
    """A JSON-RPC error; ``data`` is omitted from the answer when ``None``."""

    def __init__(self, code: int, message: str, data: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data

    def document(self) -> dict[str, object]:
        error: dict[str, object] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error
