"""The care chatbot's server and clients: an OpenAI-compatible HTTP API, a web chat page and a
terminal chat, all in front of one `Engine` (a model behind a worker thread and a bounded queue)
and one store (`liquidcare.feedback`).

    from liquidcare.serve import Engine, create_app
    engine = Engine.from_pretrained("smollm2")        # or runs/NAME (a liquid adapter)
    app = create_app(engine, open_store("care.db"), guard=None)

See docs/serve.md for the endpoints, the auth rules and how a request is tied to a twin.
"""

from .app import create_app
from .engine import Engine, EngineBusyError, GenerationParams, Job, Loaded, PromptTooLongError
from .guard import GuardLike, VerdictLike
from .service import ChatService, Turn
from .terminal import TerminalChat

__all__ = [
    "ChatService",
    "Engine",
    "EngineBusyError",
    "GenerationParams",
    "GuardLike",
    "Job",
    "Loaded",
    "PromptTooLongError",
    "TerminalChat",
    "Turn",
    "VerdictLike",
    "create_app",
]
