"""The webhook: the view Tencent calls, its authentication, Tencent's wire format, and how a
callback is stored (or spooled). ``docs/design.md`` walks one callback through it.

Kept free of imports, so that lower rooms (the models) can read the wire format's limits
without loading the view.
"""
