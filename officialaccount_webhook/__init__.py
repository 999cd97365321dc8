"""Receive Tencent Cloud Chat official-account callbacks in Django."""

__version__ = "0.1.0"
