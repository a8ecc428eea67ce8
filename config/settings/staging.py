"""Staging: production's settings, but the sandbox may be on (SANDBOX_ENABLED=true).

For a rehearsal of the production topology against the simulated Shopify and Amazon (CI's
`tests/workers/test_production_topology.py`, `make serve-prod`). Never the default of
anything; a real deployment uses config.settings.production, which refuses the sandbox.
"""

from .deployed import *  # noqa: F403
