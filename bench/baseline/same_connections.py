"""The baseline with the example project's database settings (persistent connections,
server-side binding and prepared statements, which the ORM's insert gets too), so that only
the views, and what they store, differ."""

from bench.baseline.settings import *  # noqa: F403
from project.settings import DATABASES  # noqa: F401
