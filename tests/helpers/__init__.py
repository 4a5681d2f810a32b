"""Test helpers shipped with jaunt (a fake OpenAI-compatible server); never imported at runtime."""
