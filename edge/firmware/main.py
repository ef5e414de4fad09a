# Boot of the MicroPython gate: config.json, Wi-Fi, reader and door pins, then the loop.
#
# MicroPython runs main.py after boot.py.  The build ships this file as source (a
# board only auto-runs main.py) and everything it imports as .mpy.  config.json is
# described in edge/firmware/README.md.
#
#   import main
#   main.run("config.json")

import json
import time

from micropython import const

_WIFI_WAIT_MS = const(20000)


def load_config(path="config.json"):
    with open(path) as f:
        cfg = json.load(f)
    for name in ("site", "gate", "gate_key", "card_secret", "mqtt"):
        if name not in cfg:
            raise ValueError("config.json has no %r" % name)
    return cfg


def wifi_up(cfg, log=print):
    # Join the configured network (boards with a network module); waits at most 20 s.
    wifi = cfg.get("wifi")
    if not wifi:
        return None
    try:
        import network
    except ImportError:
        return None
    sta = network.WLAN(network.STA_IF)
    sta.active(True)
    if not sta.isconnected():
        sta.connect(wifi["ssid"], wifi.get("password", ""))
        start = time.ticks_ms()
        while not sta.isconnected() and time.ticks_diff(time.ticks_ms(), start) < _WIFI_WAIT_MS:
            time.sleep_ms(200)
    log("wifi %s" % ("up" if sta.isconnected() else "not yet up"))
    return sta


def _out(pins, name, Pin):
    n = pins.get(name)
    if n is None:
        return None
    return Pin(n, Pin.OUT, value=0)


def build_door(cfg):
    import door
    from machine import Pin

    pins = cfg.get("pins", {})
    relay_active_low = pins.get("relay_active_low", False)
    relay = pins.get("relay")
    # Start with the relay released whatever its polarity (fail-secure).
    relay_pin = None
    if relay is not None:
        relay_pin = Pin(relay, Pin.OUT, value=1 if relay_active_low else 0)
    contact = pins.get("contact")
    return door.Door(
        relay=relay_pin,
        green=_out(pins, "led_green", Pin),
        red=_out(pins, "led_red", Pin),
        buzzer=_out(pins, "buzzer", Pin),
        contact=Pin(contact, Pin.IN, Pin.PULL_UP) if contact is not None else None,
        pulse_ms=cfg.get("pulse_ms", 3000),
        deny_ms=cfg.get("deny_ms", 1000),
        relay_active_low=relay_active_low,
    )


def build_reader(cfg):
    # The RC522 on SPI: reset it, then the shared MFRC522 driver over machine.SPI.
    import mfrc522
    import spibus
    from machine import SPI, Pin

    pins = cfg.get("pins", {})
    s = pins.get("spi", {})
    rst = pins.get("rc522_rst")
    if rst is not None:
        reset = Pin(rst, Pin.OUT, value=0)
        time.sleep_ms(2)
        reset.value(1)
        time.sleep_ms(50)
    spi = SPI(
        s.get("id", 1),
        baudrate=s.get("baudrate", 1000000),
        polarity=0,
        phase=0,
        sck=Pin(s.get("sck", 18)),
        mosi=Pin(s.get("mosi", 23)),
        miso=Pin(s.get("miso", 19)),
    )
    cs = Pin(pins.get("rc522_cs", 5), Pin.OUT, value=1)
    reader = mfrc522.MFRC522(spibus.MachineSpiBus(spi, cs))
    reader.init()
    return reader


def watchdog(cfg):
    ms = cfg.get("wdt_ms", 0)
    if not ms:
        return None
    from machine import WDT

    return WDT(timeout=ms)


def run(path="config.json", reader=None, door=None, log=print):
    import gate

    cfg = load_config(path)
    wifi_up(cfg, log)
    if door is None:
        door = build_door(cfg)
    if reader is None:
        reader = build_reader(cfg)
    g = gate.Gate(cfg, reader, door, log=log)
    g.run(watchdog(cfg))


if __name__ == "__main__":
    run()
