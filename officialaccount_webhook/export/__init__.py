"""Exporting stored messages as CSV or JSON Lines, streamed: the admin's action and the
``officialaccount_export`` command write the same rows (``formats``) of the same filters
(``filters``)."""
