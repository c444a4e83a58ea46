"""Test messages on pika: typed properties and headers (codec, properties), the JSON-lines message
shape (message), pipelined publisher confirms (publisher), consumers that never lose a message
(consumer), and request/reply over direct reply-to (rpc)."""
