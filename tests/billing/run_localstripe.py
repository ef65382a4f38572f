"""Start localstripe's server bound to loopback only, with an empty store.

Run by ``conftest.localstripe`` with the Python of a separate virtualenv that holds
localstripe (GPL-3.0: we run it as a separate process and never copy its code). Its own
command line listens on every interface and takes no host, so this starts its aiohttp
app directly on 127.0.0.1. Like ``localstripe --from-scratch`` it never loads the store
that earlier runs left on disk.

Usage: python run_localstripe.py PORT
"""

import sys

from aiohttp import web
from localstripe import server

if __name__ == "__main__":
    web.run_app(server.app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
