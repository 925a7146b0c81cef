"""Phase 0: the live engine in dry-run beside the recorder, and the parity proof."""
