"""The HTTP API, one `APIRouter` per resource; `liquidcare.serve.app.create_app` includes them.

    chat           POST /v1/chat/completions
    feedback       POST /v1/feedback
    conversations  GET  /v1/conversations[/{id}]
    twins          GET|POST /v1/twins, GET|PATCH /v1/twins/{id}, GET /v1/twins/{id}/timeline
    audio          POST /v1/audio/transcriptions, POST /v1/audio/speech
    consent        GET|POST /v1/consent, GET /v1/consent/twins/{id}, POST /v1/consent/withdraw
    admin          POST /v1/admin/reload, the person's rights under /v1/admin/persons/{id}
    health         GET /, /healthz, /v1/models
"""

from . import admin, audio, chat, consent, conversations, feedback, health, twins

ROUTERS = [health.router, chat.router, feedback.router, conversations.router, twins.router,
           admin.router, audio.router, consent.router]

__all__ = ["ROUTERS", "admin", "audio", "chat", "consent", "conversations", "feedback", "health",
           "twins"]
