"""mqctl: administration and diagnostics for RabbitMQ and AMQP 0-9-1."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mqctl")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
