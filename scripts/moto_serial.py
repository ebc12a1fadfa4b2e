"""moto's server, answering one request at a time.

moto's own `moto_server` serves requests on threads, and its DynamoDB transactions are not
thread-safe: concurrent TransactWriteItems calls crash inside moto ("dictionary changed size
during iteration") and come back as HTML 500s. Real DynamoDB applies each transaction atomically,
so a server that takes requests one at a time is the faithful emulation for our race tests (it
does not emulate DynamoDB's TransactionConflict; see TESTING notes in README).

    python moto_serial.py HOST PORT
"""

import sys

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, use_reloader=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
