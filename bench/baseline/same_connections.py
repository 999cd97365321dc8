"""The baseline with the example project's database connection settings (persistent
connections, prepared statements allowed), so that only the views and what they store differ."""

from bench.baseline.settings import *  # noqa: F403
from project.settings import DATABASES  # noqa: F401
