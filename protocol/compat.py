"""Small shims so one source runs on CPython and MicroPython.

``const`` is MicroPython's compile-time constant marker; on CPython it is the identity.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(value):
        return value


__all__ = ["const"]
