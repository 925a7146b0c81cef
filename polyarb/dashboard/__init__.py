"""Read-only dashboard: a JSON API and one static page over recordings and reports.

``polyarb dashboard`` serves it (default http://127.0.0.1:8083/); :func:`make_server`
builds a bound server for tests and embedding. Nothing here writes a file.
"""

from polyarb.dashboard.api import Api, ApiError
from polyarb.dashboard.server import DashboardServer, is_loopback, make_server

__all__ = ["Api", "ApiError", "DashboardServer", "is_loopback", "make_server"]
