"""Gates at the doors.

* :mod:`edge.gate` — the Raspberry Pi gate daemon (CPython, gpiozero, MFRC522 over SPI).
* ``edge/firmware/`` — the MicroPython gate for ESP32 and Pico W; its modules run on the
  device and are not imported on CPython except by the tests and the firmware build.
"""
