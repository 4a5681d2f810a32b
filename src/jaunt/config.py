"""jaunt's configuration types (a stand-in: jaunt keeps its own ``jaunt/config.py``).

Standing alone, this repository's ``LLMConfig`` and ``PromptsConfig`` are the layer's own
(:mod:`jaunt.promptkit.settings`), which carry every setting the layer reads. Inside jaunt,
jaunt's classes take their place and the layer reads the settings they lack with defaults.
"""

from jaunt.promptkit.settings import LLMConfig, PromptsConfig, find_config, load_config

__all__ = ["LLMConfig", "PromptsConfig", "find_config", "load_config"]
