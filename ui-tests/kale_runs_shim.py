"""Test-only jupyter_server extension: mounts kale_ext's run routes when the app's route table lacks them.

kale_ext/server/runs.py defines the /kale/v1/runs resources; until kale_ext/server/app.py lists them, the browser tests
mount them here, the same way tests/server/test_runs.py does. Once app.py has them this module does nothing.
"""

from __future__ import annotations


def _jupyter_server_extension_points():
    return [{"module": "kale_runs_shim"}]


def _load_jupyter_server_extension(server_app):
    from jupyter_server.utils import url_path_join

    import kale_ext.server.app as app_module
    from kale_ext.server.runs import runs_routes

    if any("runs" in pattern for pattern, _ in app_module._routes()):
        return
    base = server_app.web_app.settings["base_url"]
    routes = [(url_path_join(base, pattern.lstrip("/")), handler) for pattern, handler in runs_routes()]
    server_app.web_app.add_handlers(".*$", routes)
    server_app.log.warning("kale_runs_shim: mounted /kale/v1/runs for the browser tests (app.py lacks them)")
