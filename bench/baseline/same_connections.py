"""The baseline with the example project's database settings (persistent connections), so
that only the views, and what they store, differ. (The OPTIONS' prepare_threshold changes
nothing here: the ORM binds parameters on the client, and psycopg prepares none of them.)"""

from bench.baseline.settings import *  # noqa: F403
from project.settings import DATABASES  # noqa: F401
