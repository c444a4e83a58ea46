"""mqctl: administration and diagnostics for RabbitMQ and AMQP 0-9-1."""

# A constant, not importlib.metadata (about 30 ms at every start and every completion TAB);
# tests/test_startup.py keeps it equal to pyproject.toml's version.
__version__ = "0.1.0"
