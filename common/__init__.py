"""Helpers every app uses (HTTP, row ids, one-time form keys); it imports none of our apps."""
