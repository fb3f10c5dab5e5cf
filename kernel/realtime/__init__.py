"""Real-time fan-out: the hub that carries websocket topics across processes."""
