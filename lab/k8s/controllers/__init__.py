"""The control loops of the simulated K3s cluster, one module per controller."""
