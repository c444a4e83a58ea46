"""Inspect and operate: listings, one-object changes, health checks and the live view, over the
management API (and the topology engine for declares and deletes). No typer, never prints."""
