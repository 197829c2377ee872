"""ASGI entry point: ``gunicorn -k uvicorn.workers.UvicornWorker shop_demo.asgi`` or any ASGI server."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop_demo.settings")

application = get_asgi_application()
