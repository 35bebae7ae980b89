"""Local venue simulators that speak the real wire protocols over real sockets on 127.0.0.1."""
