"""The bodies the API takes and returns, as pydantic models: what FastAPI validates requests
against and what the OpenAPI document promises.

The `Answer` a question gets is described by models derived from its dataclasses
(`response_model`), never written out by hand: a field added to `Answer` appears in the API's
schema by itself, and the schema says exactly what `Answer.to_dict()` sends.

No `from __future__ import annotations` here: FastAPI and pydantic read these annotations at
run time, and the request models are made per app (their length limits are in the schema).
"""

import dataclasses
import types
import typing
from functools import cache
from typing import Any, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from verimath.answer import Answer

__all__ = [
    "AnswerOut", "ChatCompletionOut", "ErrorOut", "SSE_EVENT", "VERIMATH_KEYS", "VerimathOut",
    "documented_errors", "request_models", "response_model",
]  # fmt: skip


# --- requests ----------------------------------------------------------------------------------


def request_models(max_chars: int) -> tuple[type[BaseModel], type[BaseModel]]:
    """The request bodies of `/v1/ask` and `/v1/chat/completions`, with this app's question
    limit in their schema."""

    # strict: a value is taken only in the type the schema names ("12" is no integer)
    class AskRequest(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)

        question: str = Field(min_length=1, max_length=max_chars, description="The question")
        thread_id: str | None = Field(
            None,
            min_length=1,
            max_length=200,
            description="A conversation to continue (kept while the server runs, or in the "
            "checkpoint file)",
        )

    class ChatMessage(BaseModel):
        model_config = ConfigDict(extra="allow", strict=True)

        role: str = Field(description="system, user, assistant, ...")
        content: str | list[dict[str, Any]] | None = Field(
            None, description="Text, or a list of content parts (the text parts are read)"
        )

    class ChatRequest(BaseModel):
        # OpenAI clients send many parameters; unknown ones are accepted and ignored.
        model_config = ConfigDict(extra="allow", strict=True)

        messages: list[ChatMessage] = Field(
            min_length=1,
            description="The conversation; its last user message is the question "
            f"(at most {max_chars} characters)",
            json_schema_extra={
                "contains": {"required": ["role"], "properties": {"role": {"const": "user"}}}
            },
        )
        stream: bool = Field(False, description="Server-sent chat.completion.chunk events")
        model: str | None = Field(None, description="Accepted and ignored: one model serves")
        temperature: float | None = Field(None, description="Accepted and ignored")
        max_tokens: int | None = Field(None, description="Accepted and ignored")

    return AskRequest, ChatRequest


# --- the answer, derived from its dataclasses --------------------------------------------------


@cache
def response_model(cls: type) -> type[BaseModel]:
    """The pydantic model of a dataclass as its `to_dict()` sends it: one required field per
    dataclass field (a default still sends the key), tuples as lists, nested dataclasses as
    their own models, and no other keys."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: (_json_type(hints[f.name]), ...) for f in dataclasses.fields(cls)}
    written = cls.__doc__ and not cls.__doc__.startswith(f"{cls.__name__}(")  # not generated
    return create_model(  # type: ignore[call-overload]
        f"{cls.__name__}Out",
        __config__=ConfigDict(extra="forbid"),
        __doc__=cls.__doc__ if written else None,
        **fields,
    )


def _json_type(hint: Any) -> Any:
    """The type of a value once it is JSON: what `response_model` gives each field."""
    if dataclasses.is_dataclass(hint):
        return response_model(typing.cast(type, hint))
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (tuple, list):  # tuple[X, ...] and list[X] alike become a JSON array
        return list[_json_type(args[0])]  # type: ignore[misc]
    if origin is dict:
        return dict[args[0], _json_type(args[1])]  # type: ignore[misc, valid-type]
    if origin in (Union, types.UnionType):
        return Union[tuple(_json_type(arg) for arg in args)]  # noqa: UP007
    return hint  # str, int, float, bool, None and Literal are JSON as they are


AnswerOut = response_model(Answer)


# --- OpenAI chat completions -------------------------------------------------------------------

# The Answer's keys a completion's `verimath` object repeats; it adds the `evidence`.
VERIMATH_KEYS = (
    "status", "answer", "answer_as_written", "confidence", "checks", "citations", "guardrails",
    "attempts", "truncated", "review_pending", "error", "timings", "cross_check", "grounding",
    "examples",
)  # fmt: skip

VerimathOut = create_model(
    "VerimathOut",
    __config__=ConfigDict(extra="forbid"),
    __doc__="What verimath adds to an OpenAI completion: what was checked and what it rests on.",
    **{key: (AnswerOut.model_fields[key].annotation, ...) for key in VERIMATH_KEYS},  # type: ignore[call-overload]
    evidence=(str, Field(description="The details of the failed checks")),
)


class ChatMessageOut(BaseModel):
    role: str
    content: str | None
    reasoning_content: str
    refusal: str | None


class ChoiceOut(BaseModel):
    index: int
    message: ChatMessageOut
    finish_reason: str
    logprobs: None = None


class ChatUsageOut(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletionOut(BaseModel):
    id: str
    object: str
    created: int
    model: str
    choices: list[ChoiceOut]
    usage: ChatUsageOut
    verimath: VerimathOut  # type: ignore[valid-type]


# One server-sent event of a streamed chat completion (before OpenAPI 3.2's `itemSchema`, the
# `schema` of an event stream describes each event).
SSE_EVENT = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "event": {"type": "string"},
        "data": {
            "type": "string",
            "description": "A chat.completion.chunk as JSON (the last one has the `verimath` "
            "object), an `error` object, or [DONE]",
        },
    },
}


# --- errors ------------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorOut(BaseModel):
    """OpenAI's error shape, for every 4xx and 5xx."""

    error: ErrorDetail


def documented_errors() -> dict[int | str, dict[str, Any]]:
    """The error statuses every /v1 endpoint may answer with, for the OpenAPI document."""
    said = {
        400: "Malformed JSON",
        401: "Missing or wrong API key (when the server has one)",
        413: "Request body too large",
        422: "A field is missing, of the wrong type, or too long",
        502: "The model server failed",
        503: "Too many requests waiting; retry after Retry-After seconds",
        504: "No answer within the server's timeout",
    }
    return {code: {"model": ErrorOut, "description": text} for code, text in said.items()}
