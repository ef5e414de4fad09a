# Reader scenarios checked on both interpreters: pytest runs them on CPython
# through SpidevBus + fake spidev, tests/firmware/reader_runner.py runs them on
# MicroPython through MachineSpiBus + the machine shim. Each case gets a fresh
# emulated chip, an initialised reader on a bus to it, and the driver module.
# No typing, no f-strings: MicroPython runs this file too.

UID4 = b"\x04\xa1\xb2\xc3"
UID7 = b"\x04\xa1\xb2\xc3\xd4\xe5\xf6"
UID10 = b"\x04\xa1\xb2\xc3\xd4\xe5\xf6\x07\x18\x29"


class CaseFailure(Exception):
    pass


def expect(got, want, what):
    if got != want:
        raise CaseFailure("%s: got %r, want %r" % (what, got, want))


def expect_error(fn, code, driver):
    try:
        fn()
    except driver.ReaderError as err:
        expect(err.code, code, "error code")
        return
    raise CaseFailure("no ReaderError %r" % code)


def select_levels(chip):
    # SEL codes of the SELECT frames the reader sent (NVB 0x70)
    return [d[0] for d, n in chip.sent if n == 72 and d[1] == 0x70]


def case_version(chip, reader, driver):
    expect(reader.version(), 0x92, "VersionReg")


def case_uid_4(chip, reader, driver):
    chip.present(UID4)
    expect(reader.read_uid(), UID4, "UID")
    expect(select_levels(chip), [0x93], "cascade levels")
    reader.halt()
    expect(chip.cards[0].state, "halt", "card state after HLTA")
    expect(reader.read_uid(), None, "REQA leaves a halted card asleep")
    expect(reader.read_uid(wake=True), UID4, "WUPA wakes it")
    expect(reader.reads, 2, "reads")


def case_uid_7(chip, reader, driver):
    chip.present(UID7, sak=0x00)
    expect(reader.read_uid(), UID7, "UID")
    expect(select_levels(chip), [0x93, 0x95], "cascade levels")


def case_uid_10(chip, reader, driver):
    chip.present(UID10, sak=0x20)
    expect(reader.read_uid(), UID10, "UID")
    expect(select_levels(chip), [0x93, 0x95, 0x97], "cascade levels")


def case_no_card(chip, reader, driver):
    expect(reader.read_uid(), None, "UID")
    expect(reader.read_uid(wake=True), None, "UID after WUPA")
    expect(sum(reader.errors.values()), 0, "errors")


def case_two_cards(chip, reader, driver):
    # b2 = 10110010, b6 = 10110110: the first collision is UID bit 18 (byte
    # 2, bit 2); the reader takes the card that sent 1 there.
    other = b"\x04\xa1\xb6\xc3"
    chip.present_many([UID4, other])
    expect(reader.read_uid(), other, "first UID")
    partial = [d for d, n in chip.sent if n % 8 and d[0] == 0x93]
    expect(partial, [b"\x93\x43\x04\xa1\x06"], "bit-oriented anticollision frames")
    reader.halt()
    expect(reader.read_uid(), UID4, "second UID")
    reader.halt()
    expect(reader.read_uid(), None, "both halted")
    expect(reader.read_uid(wake=True), other, "WUPA: the same card first again")
    expect(sum(reader.errors.values()), 0, "errors")


def case_three_cards(chip, reader, driver):
    # 11 vs 13 differ at bit 1 of byte 0 (13 has 1); 44 vs 45 at bit 0 of byte 3
    x, y, z = b"\x11\x22\x33\x44", b"\x13\x22\x33\x44", b"\x11\x22\x33\x45"
    chip.present_many([x, y, z])
    order = []
    for _ in range(4):
        uid = reader.read_uid()
        order.append(uid)
        if uid:
            reader.halt()
    expect(order, [y, z, x, None], "reading order")


def case_second_collision_after_a_partial_byte(chip, reader, driver):
    # 22 vs 2a differ at UID bit 11: 12 bits known (1 byte + 4 bits), then
    # 44 vs c4 collide at UID bit 31, reported from RxAlign 4 on.
    a, b, c = b"\x11\x22\x33\x44", b"\x11\x2a\x33\x44", b"\x11\x2a\x33\xc4"
    chip.present_many([a, b, c])
    expect(reader.read_uid(), c, "first UID")
    nvbs = [d[1] for d, n in chip.sent if d[0] == 0x93 and n < 72]
    expect(nvbs, [0x20, 0x34, 0x60], "NVB of each anticollision round")
    reader.halt()
    expect(reader.read_uid(), b, "second UID")
    reader.halt()
    expect(reader.read_uid(), a, "third UID")


def case_mixed_sizes(chip, reader, driver):
    # ATQAs collide (single vs double size); CL1 0x08 vs cascade tag 0x88
    # differ at bit 7 of byte 0, where the tag has 1: the 7-byte card first.
    short = b"\x08\x11\x22\x33"
    chip.present_many([short, UID7])
    expect(reader.read_uid(), UID7, "first UID")
    reader.halt()
    expect(reader.read_uid(), short, "second UID")


def case_collision_at_level_2(chip, reader, driver):
    a = b"\x04\x11\x22\x33\x44\x55\x66"
    b = b"\x04\x11\x22\x33\x44\x55\x67"
    chip.present_many([a, b])
    expect(reader.read_uid(), b, "first UID")
    reader.halt()
    expect(reader.read_uid(), a, "second UID")


def case_unresolvable_collision(chip, reader, driver):
    # Same UID, different SAK (a clone next to the original): SAKs collide
    chip.present_many([UID4, UID4], [0x08, 0x18])
    expect_error(reader.read_uid, "collision", driver)
    expect(reader.errors["collision"], 1, "collision count")


def case_crc_error(chip, reader, driver):
    chip.present(UID4)
    chip.corrupt_crc(1)
    expect_error(reader.read_uid, "crc", driver)
    expect(reader.errors["crc"], 1, "crc count")
    expect(reader.read_uid(), UID4, "UID on the next read")


def case_bcc_error(chip, reader, driver):
    chip.present(UID7)
    chip.corrupt_bcc(1)
    expect_error(reader.read_uid, "bcc", driver)
    expect(reader.read_uid(), UID7, "UID on the next read")
    expect(reader.errors["bcc"], 1, "bcc count")


def case_protocol_error(chip, reader, driver):
    chip.present(UID4)
    chip.inject_errors(chip.PARITY_ERR | chip.PROTOCOL_ERR, 1)
    expect_error(reader.read_uid, "protocol", driver)
    expect(reader.read_uid(), UID4, "UID on the next read")


def case_removed_mid_read(chip, reader, driver):
    chip.present(UID7)
    chip.remove_after(1)  # answers REQA, gone before anticollision
    expect_error(reader.read_uid, "timeout", driver)
    expect(reader.read_uid(), None, "nothing left on the reader")
    chip.present(UID7)
    chip.remove_after(3)  # gone before cascade level 2
    expect_error(reader.read_uid, "timeout", driver)
    expect(reader.errors["timeout"], 2, "timeout count")
    chip.present(UID7)
    expect(reader.read_uid(), UID7, "UID once the card is back")


def case_removed_without_chip_timer(chip, reader, driver):
    # With the chip's timer off no TimerIRq ever comes: the driver's own
    # bound ends the wait.
    chip.exchange(bytes([0x2A << 1, 0x00]))  # TModeReg: TAuto off
    chip.present(UID4)
    chip.remove_after(1)
    expect_error(reader.read_uid, "timeout", driver)
    expect(reader.read_uid(), None, "nothing left on the reader")


CASES = [
    ("version", case_version),
    ("uid_4", case_uid_4),
    ("uid_7", case_uid_7),
    ("uid_10", case_uid_10),
    ("no_card", case_no_card),
    ("two_cards", case_two_cards),
    ("three_cards", case_three_cards),
    ("second_collision_after_a_partial_byte", case_second_collision_after_a_partial_byte),
    ("mixed_sizes", case_mixed_sizes),
    ("collision_at_level_2", case_collision_at_level_2),
    ("unresolvable_collision", case_unresolvable_collision),
    ("crc_error", case_crc_error),
    ("bcc_error", case_bcc_error),
    ("protocol_error", case_protocol_error),
    ("removed_mid_read", case_removed_mid_read),
    ("removed_without_chip_timer", case_removed_without_chip_timer),
]
