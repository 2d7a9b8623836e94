"""The HTTP API, one `APIRouter` per resource; `liquidcare.serve.app.create_app` includes them.

    chat           POST /v1/chat/completions
    feedback       POST /v1/feedback
    conversations  GET  /v1/conversations[/{id}]
    twins          GET|POST /v1/twins, GET|PATCH /v1/twins/{id}, GET /v1/twins/{id}/timeline
    audio          POST /v1/audio/transcriptions, POST /v1/audio/speech
    admin          POST /v1/admin/reload, the person's rights under /v1/admin/persons/{id}
    health         GET /, /healthz, /v1/models
"""

from . import admin, audio, chat, conversations, feedback, health, twins

ROUTERS = [health.router, chat.router, feedback.router, conversations.router, twins.router,
           admin.router, audio.router]

__all__ = ["ROUTERS", "admin", "audio", "chat", "conversations", "feedback", "health", "twins"]
