from tests.web.world import make_world, template, world

__all__ = ["make_world", "template", "world"]
