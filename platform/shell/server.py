"""``jifen serve``: gunicorn in production shape; Werkzeug's server only where gunicorn
cannot run (it needs ``fork``, so not on Windows)."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def serve(host: str, port: int, workers: int) -> None:
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError:  # pragma: no cover - platforms without fork
        from .app import create_app

        log.warning("gunicorn is unavailable; using the development server")
        create_app().run(host=host, port=port)
        return

    class JifenServer(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", 4)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("accesslog", None)
            self.cfg.set("timeout", 60)

        def load(self):
            from .app import create_app

            return create_app()

    JifenServer().run()
