"""Leaked tokens (issue 24): reports from secret scanners and holders, and what follows them."""
