"""moto's server, serving one request at a time (same arguments as `moto_server`).

moto's backends are not thread-safe, and its default server is threaded: two concurrent
conditional UpdateItems can both pass their condition (seen: two concurrent AdjustBrightness
both written from the same old value). DynamoDB makes each conditional write atomic; serving
requests one by one gives the local server the same guarantee.
"""

import sys

import moto.server as server

_run_simple = server.run_simple


def _serial(*args, **kwargs):
    kwargs["threaded"] = False
    return _run_simple(*args, **kwargs)


server.run_simple = _serial

if __name__ == "__main__":
    sys.exit(server.main())
