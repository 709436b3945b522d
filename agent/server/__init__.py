"""`verimath serve`: the agent over HTTP, for programs in any language and for any OpenAI client
(`POST /v1/chat/completions` makes the agent a model whose answers say whether they were verified).

    from verimath import Agent
    from verimath.server import ServerLimits, create_app
    app = create_app(Agent(model="demo"), limits=ServerLimits(max_concurrency=2))

FastAPI and uvicorn are the `serve` extra: importing this package without them fails with the
pip command. The package's parts:

- `app`: the routes, and `serve`, which runs them with uvicorn;
- `admission`: the limits, the API key, and the worker threads questions wait for;
- `openai_chat`: the agent as an OpenAI chat model (completions and their chunks);
- `schema`: the request and response bodies, the answer's derived from `Answer`;
- `error_responses`: every error in OpenAI's JSON shape, never a traceback.
"""

from verimath.errors import MissingExtraError

try:
    import fastapi  # noqa: F401  (only to fail early, with the pip command)
except ImportError as exc:  # the optional extra is missing
    raise MissingExtraError(
        "the HTTP API needs FastAPI and uvicorn; install them with pip install 'verimath[serve]'"
    ) from exc

from verimath.server.admission import API_KEY_ENV, ServerLimits  # noqa: E402
from verimath.server.app import create_app, serve  # noqa: E402

__all__ = ["API_KEY_ENV", "ServerLimits", "create_app", "serve"]
