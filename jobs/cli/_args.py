"""Argument types shared by commands: argparse reports a bad value with the flag's name."""
from __future__ import annotations

import argparse


def port_number(text: str) -> int:
    """A TCP port to listen on, 1-65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (1-65535)")
    return port
