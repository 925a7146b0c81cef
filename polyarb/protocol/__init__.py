"""Pure wire-format code: market-channel parser, book hash, market metadata.

No network, no clock: the same functions run live and in replay.
"""
