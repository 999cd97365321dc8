"""What the app does with stored messages beyond receiving them: recall them through Tencent,
find and backfill gaps from Tencent's history, prune old rows."""
