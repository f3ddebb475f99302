#!/usr/bin/env python3
"""Reads every Particle board (vendor 0x2b04) through PyPI's pyusb on the system libusb, a USB
host nobody here wrote, and prints one JSON object per board on a line of its own.

    usb-pyusb.py

Run under umockdev's preload with the emulator's UMOCKDEV_DIR. For each board: the device
descriptor, its strings, each interface with its endpoints and class-specific descriptors.
A board in normal mode is then asked, by Particle's vendor control requests as Device OS's
usb_control_request_channel.cpp answers them, for its device id and Device OS version by the raw
0x50 request (types 20 and 30), and both again by INIT/CHECK/RECV of requests 20 and 30, whose protobuf replies
hold the text in field 1, and whether it answers request 76 (protection state). A board in DFU mode is asked DFU_GETSTATUS on interface 0."""
import json
import struct
import sys
import time

import usb.core
import usb.util

VENDOR_IN, VENDOR_OUT = 0xC0, 0x40
INIT, CHECK, RECV = 1, 2, 4
STATUS_OK, STATUS_PENDING = 0, 2


def text(device, index):
    if not index:
        return None
    try:
        return usb.util.get_string(device, index)
    except (usb.core.USBError, ValueError) as error:
        return "error: %s" % error


def class_descriptors(extra):
    """The class-specific descriptors after an interface, as [type, subtype, bytes...]."""
    found, offset = [], 0
    data = bytes(extra)
    while offset + 2 <= len(data) and data[offset] >= 2:
        length = data[offset]
        found.append(list(data[offset:offset + length]))
        offset += length
    return found


def service_reply(data):
    """Particle's service reply: flags u32, status u16, then id u16, size u32, result i32 as flagged."""
    data = bytes(data)
    flags, status = struct.unpack_from("<IH", data, 0)
    offset, reply = 6, {"status": status}
    if flags & 2:
        reply["id"] = struct.unpack_from("<H", data, offset)[0]
        offset += 2
    if flags & 4:
        reply["size"] = struct.unpack_from("<I", data, offset)[0]
        offset += 4
    if flags & 8:
        reply["result"] = struct.unpack_from("<i", data, offset)[0]
    return reply


def request(device, kind, deadline_s=10.0):
    """One control request with an empty payload: INIT, CHECK with backoff until done, RECV."""
    init = service_reply(device.ctrl_transfer(VENDOR_IN, INIT, 0, kind, 64))
    if init["status"] != STATUS_OK:
        return {"init": init}
    rid, waits, started = init["id"], [0.05, 0.05, 0.1, 0.1, 0.25, 0.25, 0.5, 0.5], time.monotonic()
    while True:
        check = service_reply(device.ctrl_transfer(VENDOR_IN, CHECK, 0, rid, 64))
        if check["status"] != STATUS_PENDING or time.monotonic() - started > deadline_s:
            break
        time.sleep(waits.pop(0) if waits else 1.0)
    answer = {"init": init, "check": check}
    if check["status"] == STATUS_OK and check.get("size"):
        answer["payload"] = list(device.ctrl_transfer(VENDOR_IN, RECV, 0, rid, check["size"]))
    return answer


def protobuf_bytes(payload, field):
    """The first length-delimited field `field` of a protobuf message (GetDeviceIdReply's id)."""
    data, offset = bytes(payload), 0
    while offset < len(data):
        key, offset = varint(data, offset)
        number, wire = key >> 3, key & 7
        if wire == 2:
            length, offset = varint(data, offset)
            if number == field:
                return data[offset:offset + length]
            offset += length
        elif wire == 0:
            _, offset = varint(data, offset)
        else:
            return None
    return None


def varint(data, offset):
    value, shift = 0, 0
    while True:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
        shift += 7


def board(device):
    found = {
        "vendor": device.idVendor, "product": device.idProduct, "bcdDevice": device.bcdDevice,
        "bcdUSB": device.bcdUSB, "class": [device.bDeviceClass, device.bDeviceSubClass, device.bDeviceProtocol],
        "maxPacketSize0": device.bMaxPacketSize0,
        "manufacturer": text(device, device.iManufacturer), "name": text(device, device.iProduct),
        "serial": text(device, device.iSerialNumber), "interfaces": [],
    }
    configuration = device.get_active_configuration()
    found["configuration"] = {"value": configuration.bConfigurationValue, "attributes": configuration.bmAttributes,
                              "maxPower": configuration.bMaxPower, "interfaces": configuration.bNumInterfaces,
                              "extra": class_descriptors(configuration.extra_descriptors)}
    for interface in configuration:
        found["interfaces"].append({
            "number": interface.bInterfaceNumber, "alternate": interface.bAlternateSetting,
            "class": [interface.bInterfaceClass, interface.bInterfaceSubClass, interface.bInterfaceProtocol],
            "name": text(device, interface.iInterface),
            "endpoints": [{"address": e.bEndpointAddress, "attributes": e.bmAttributes, "maxPacketSize": e.wMaxPacketSize}
                          for e in interface],
            "extra": class_descriptors(interface.extra_descriptors),
        })
    if found["interfaces"] and found["interfaces"][0]["class"][0] == 0xFE:
        status = list(device.ctrl_transfer(0xA1, 3, 0, 0, 6))
        found["dfuStatus"] = {"status": status[0], "pollTimeout": status[1] | status[2] << 8 | status[3] << 16, "state": status[4]}
    else:
        found["rawDeviceID"] = bytes(device.ctrl_transfer(VENDOR_IN, 0x50, 0, 20, 64)).decode("ascii", "replace")
        found["rawSystemVersion"] = bytes(device.ctrl_transfer(VENDOR_IN, 0x50, 0, 30, 64)).decode("ascii", "replace")
        for kind, key in ((20, "deviceID"), (30, "systemVersion")):
            answer = request(device, kind)
            found[key + "Request"] = answer
            value = protobuf_bytes(answer.get("payload", []), 1)
            found[key] = value.decode("utf-8", "replace") if value is not None else None
        # GET_PROTECTED_STATE (76): the result alone, 0 where Device OS has the handler (6.1.0 on).
        found["protectionResult"] = request(device, 76).get("check", {}).get("result")
    return found


def main():
    devices = list(usb.core.find(find_all=True, idVendor=0x2B04))
    for device in sorted(devices, key=lambda d: (d.bus, d.address)):
        print(json.dumps(board(device)), flush=True)
        usb.util.dispose_resources(device)
    return 0 if devices else 1


if __name__ == "__main__":
    sys.exit(main())
