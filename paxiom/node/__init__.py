"""The real service: storage, wire encoding, framing, TLS and transport around the verified core."""
