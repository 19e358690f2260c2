"""The shared kernel: what every path reads and writes, decided once."""
