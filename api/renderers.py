"""The API's one JSON renderer: the NinjaAPI and the hand-rendered lists share it."""

from ninja.renderers import JSONRenderer

RENDERER = JSONRenderer()
RENDERER_CONTENT_TYPE = f"{RENDERER.media_type}; charset={RENDERER.charset}"
