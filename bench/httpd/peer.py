"""bench/httpd/peer.py: the hello-world server of bench/httpd.sh under
Python eventlet (eventlet.wsgi) or gevent (gevent.pywsgi).

    peer.py eventlet|gevent PORT
"""
import sys

lib, port = sys.argv[1], int(sys.argv[2])
BODY = [b"Hello, World!\n"]
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", "14")]


def app(environ, start_response):
    """Answer every request with the hello body."""
    start_response("200 OK", HEADERS)
    return BODY


if lib == "eventlet":
    import eventlet
    from eventlet import wsgi
    wsgi.server(eventlet.listen(("127.0.0.1", port), backlog=1024), app,
                log_output=False, max_size=20000)
else:
    from gevent import pywsgi
    pywsgi.WSGIServer(("127.0.0.1", port), app, log=None).serve_forever()
