"""Every error the API answers with, in OpenAI's JSON shape with one sentence a client can act
on; tracebacks stay in the server's log."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from verimath.errors import BackendError, VerimathError

__all__ = ["ApiError", "add_error_handlers", "error_body", "error_response", "status_of"]

logger = logging.getLogger("verimath.server")


class ApiError(HTTPException):
    """A request answered with an error status; HTTPException so that FastAPI passes it on
    unchanged also when it is raised while the body is read."""

    def __init__(
        self, status: int, message: str, *, param: str | None = None, **headers: str
    ) -> None:
        super().__init__(status, message, headers=headers or None)
        self.param = param


def status_of(exc: BaseException) -> int:
    """A failed model server is the gateway's fault (502); anything else is the server's."""
    return 502 if isinstance(exc, BackendError) else 500


def _error_type(status: int) -> str:
    names = {401: "authentication_error", 404: "not_found_error", 503: "overloaded_error"}
    if status in names:
        return names[status]
    if status == 504:
        return "timeout_error"
    return "server_error" if status >= 500 else "invalid_request_error"


def error_body(status: int, message: str, param: str | None = None) -> dict[str, Any]:
    return {
        "error": {"message": message, "type": _error_type(status), "param": param, "code": None}
    }


def error_response(
    status: int, message: str, param: str | None = None, **headers: Any
) -> JSONResponse:
    return JSONResponse(error_body(status, message, param), status, headers=headers or None)


def add_error_handlers(app: FastAPI) -> None:
    """Turn every exception a request can raise into the JSON error shape."""

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        status, detail = getattr(exc, "status_code", 500), getattr(exc, "detail", "")
        headers = getattr(exc, "headers", None) or {}
        return error_response(status, str(detail), getattr(exc, "param", None), **headers)

    async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
        problems = exc.errors() if isinstance(exc, RequestValidationError) else []
        if any(p.get("type") == "json_invalid" for p in problems):
            return error_response(400, "the request body is not valid JSON; send a JSON object")
        content_type = request.headers.get("content-type", "application/json")
        if "json" not in content_type and any(p.get("loc") == ("body",) for p in problems):
            message = f"the body is {content_type}; send JSON with Content-Type: application/json"
            return error_response(422, message, "body")
        where = [".".join(str(part) for part in p.get("loc", ())) for p in problems]
        message = "; ".join(
            f"{w}: {p.get('msg', 'invalid')}" for w, p in zip(where, problems, strict=True)
        )
        return error_response(422, message or "invalid request", where[0] if where else None)

    async def agent_error(_: Request, exc: Exception) -> JSONResponse:
        logger.error("request failed: %s", exc)
        return error_response(status_of(exc), str(exc))

    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("request failed unexpectedly", exc_info=exc)
        return error_response(500, "internal error while answering; the server log has the details")

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(VerimathError, agent_error)
    app.add_exception_handler(Exception, unexpected)
