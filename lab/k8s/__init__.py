"""Simulated K3s: an object store with the Kubernetes API over HTTPS, and its controllers."""
