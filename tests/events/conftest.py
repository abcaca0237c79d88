from tests.events.fixtures import events_stream, js, settings

__all__ = ["events_stream", "js", "settings"]
