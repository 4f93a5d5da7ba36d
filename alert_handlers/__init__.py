"""Alert payloads, normalization, dedup, rules and safety gates."""
