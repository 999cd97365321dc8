"""Running the app in production: its health endpoint (``health``), Prometheus metrics
(``metrics``, with the optional ``prometheus-client``), and the measurements both read
(``probe``). docs/operations.md describes them."""
