"""localstripe, on loopback only and in memory only.

localstripe's own command listens on every interface and pickles its state to the shared
/tmp/localstripe.pickle after every write, so two test runs on one machine would read each
other's objects. This serves the same application on 127.0.0.1 with nothing written to disk.

    python localstripe_loopback.py PORT
"""

import sys

from aiohttp import web

from localstripe import resources, server


def main() -> None:
    port = int(sys.argv[1])
    resources.Store.dump_to_disk = lambda self: None
    web.run_app(server.app, host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    main()
