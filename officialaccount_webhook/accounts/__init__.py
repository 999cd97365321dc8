"""The accounts mirror: official accounts and their subscribers, kept from the callbacks
(``callbacks``, through ``mirror``) and from Tencent's REST API (``sync``)."""
