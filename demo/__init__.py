"""Demo programs that use Gatehouse from outside, as an application would (not part of the server)."""
