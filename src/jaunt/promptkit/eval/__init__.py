"""``jaunt-prompts eval``: measure what a model does with a template set.

:mod:`.runner` runs sets x fixtures x samples through the real backend, :mod:`.cache` replays
answers, :mod:`.checks` runs behavioural checks (only when asked), :mod:`.stats` holds the
Wilson interval and the sign test, :mod:`.report` aggregates and formats.
"""
