"""One gateway per external system; the only modules that import client libraries.

`pve.py` is the model to copy: async public methods, the blocking client in
`asyncio.to_thread`, library errors mapped to `infra.errors` once, reads retried.
"""
