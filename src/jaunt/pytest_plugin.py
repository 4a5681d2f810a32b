"""pytest plugin (entry point ``pytest11``): snapshot your own ``[prompts]`` set (to come)."""
