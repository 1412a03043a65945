"""The composition root: the only package that wires the twin, the hardware bridge,
the controllers and the web together (the `checkpoint` command, pure simulation,
mixed mode and the live control room)."""
