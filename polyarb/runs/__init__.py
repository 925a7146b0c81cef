"""Engine run outputs: the table contract shared by the engine, parity and analytics."""
