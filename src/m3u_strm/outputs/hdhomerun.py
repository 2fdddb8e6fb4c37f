"""The documents of an emulated HDHomeRun tuner, shaped as real SiliconDust devices answer them.

Plex, Jellyfin and Emby add an HDHomeRun by its address, read ``discover.json`` (what the device is, where its
lineup is), ``lineup_status.json`` (whether a scan runs) and ``lineup.json`` (the channels and their stream
URLs); Plex also reads the UPnP ``device.xml``. Field names and casing follow the devices (``DeviceID``,
``BaseURL``, ``GuideNumber``, ``URL``), because the clients deserialise them by name.

Rules:

* ``BaseURL`` is the device's own base (``http://host:8000/hdhr/<token>``, a trailing slash is dropped);
  ``LineupURL`` is ``BaseURL + "/lineup.json"``; stream URLs in the lineup are the caller's gateway URLs.
* ``DeviceID`` is 8 hex digits, upper-case as devices print it; ``DeviceAuth`` is not a secret here (real devices
  use it for SiliconDust's cloud guide, which an emulated tuner has no access to), so it repeats the device id.
* ``lineup.json`` writes ``"HD": 1`` for HD channels and leaves the key out otherwise, as devices do; Jellyfin
  reads the number as a boolean.
* ``lineup_status.json`` always says no scan is running and a scan is possible, on a ``Cable`` source: the lineup
  is ours, a "scan" only re-reads it.
* Names (``FriendlyName``, ``GuideName``) are cleaned as playlist titles are (control characters and line breaks
  become spaces, NFC, stripped), so a channel reads the same in the lineup as in the playlist.
* ``device.xml`` text goes through :func:`~m3u_strm.outputs.guide.xml_text`, so a friendly name like ``<Tom & Jerry>``
  stays text. Its ``UDN`` is a UUID derived from the device id, stable across restarts.

>>> device = TunerDevice("1A2B3C4D", "Living room", "http://10.0.0.5:8000/hdhr/tok", tuner_count=2)
>>> discover_json(device)["LineupURL"]
'http://10.0.0.5:8000/hdhr/tok/lineup.json'
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from m3u_strm.ingest.m3u_text import clean_text
from m3u_strm.outputs.guide import xml_text

__all__ = [
    "LineupEntry", "TunerDevice", "device_id_from", "device_id_is_valid", "device_xml", "discover_json",
    "lineup_json", "lineup_status_json",
]  # fmt: skip

# libhdhomerun's device-id check (hdhomerun_discover_validate_device_id): the eight nibbles, every other one
# through this table, XOR to zero. Plex refuses a tuner whose id fails it.
_ID_CHECK_TABLE = (0xA, 0x5, 0xF, 0x6, 0x7, 0xC, 0x1, 0xB, 0x9, 0x2, 0x8, 0xD, 0x4, 0x3, 0xE, 0x0)


def _id_checksum(value: int) -> int:
    checksum = 0
    for shift in (28, 20, 12, 4):
        checksum ^= _ID_CHECK_TABLE[(value >> shift) & 0xF] ^ ((value >> (shift - 4)) & 0xF)
    return checksum


def device_id_is_valid(device_id: str) -> bool:
    """Whether ``device_id`` passes libhdhomerun's checksum (``"1053C0CA"`` does)."""
    return len(device_id) == 8 and _id_checksum(int(device_id, 16)) == 0


def device_id_from(seed: bytes) -> str:
    """A stable device id with a valid checksum, from the first bytes of ``seed`` (e.g. a hash of the install's
    secret). The last nibble is chosen so the checksum comes out zero.

    >>> device_id_is_valid(device_id_from(b"\x12\x34\x56\x78"))
    True
    """
    value = int.from_bytes(seed[:4].ljust(4, b"\0"), "big") & 0xFFFFFFF0
    return f"{value | _id_checksum(value):08X}"


_DEVICE_ID = re.compile(r"[0-9A-Fa-f]{8}")
# Any fixed namespace gives a stable UDN; a name of our own keeps it apart from other uuid5 users of the id.
_UDN_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "hdhomerun.m3u-strm.invalid")


@dataclass(frozen=True, slots=True)
class TunerDevice:
    """The emulated tuner: its identity and where it is reached."""

    device_id: str
    friendly_name: str
    base_url: str
    tuner_count: int
    model: str = "HDTC-2US"
    firmware_name: str = "hdhomeruntc_atsc"
    firmware_version: str = "20200101"
    manufacturer: str = "Silicondust"

    def __post_init__(self) -> None:
        if not _DEVICE_ID.fullmatch(self.device_id):
            raise ValueError(f"An HDHomeRun device id is 8 hex digits, not {self.device_id!r}")
        if self.tuner_count < 1:
            raise ValueError(f"A tuner needs at least one tuner slot, not {self.tuner_count}")


@dataclass(frozen=True, slots=True)
class LineupEntry:
    """One channel as the tuner lists it; ``url`` is the gateway stream URL."""

    guide_number: str
    guide_name: str
    url: str
    hd: bool = False


def discover_json(device: TunerDevice) -> dict[str, object]:
    """``/discover.json``: who the device is and where its lineup lives."""
    base_url = _base(device)
    device_id = device.device_id.upper()
    return {
        "FriendlyName": clean_text(device.friendly_name),
        "Manufacturer": device.manufacturer,
        "ModelNumber": device.model,
        "FirmwareName": device.firmware_name,
        "FirmwareVersion": device.firmware_version,
        "DeviceID": device_id,
        "DeviceAuth": device_id,
        "BaseURL": base_url,
        "LineupURL": f"{base_url}/lineup.json",
        "TunerCount": device.tuner_count,
    }


def lineup_status_json() -> dict[str, object]:
    """``/lineup_status.json``: never scanning, always able to (a scan only re-reads our lineup)."""
    return {"ScanInProgress": 0, "ScanPossible": 1, "Source": "Cable", "SourceList": ["Cable"]}


def lineup_json(entries: Iterable[LineupEntry]) -> list[dict[str, object]]:
    """``/lineup.json``: one object per channel, keys in the order devices write them."""
    lineup: list[dict[str, object]] = []
    for entry in entries:
        item: dict[str, object] = {"GuideNumber": entry.guide_number, "GuideName": clean_text(entry.guide_name)}
        if entry.hd:
            item["HD"] = 1
        item["URL"] = entry.url
        lineup.append(item)
    return lineup


def device_xml(device: TunerDevice) -> str:
    """``/device.xml``: the UPnP root device description Plex reads after discovery."""
    device_id = device.device_id.upper()
    udn = uuid.uuid5(_UDN_NAMESPACE, device_id)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<root xmlns="urn:schemas-upnp-org:device-1-0">\n'
        "  <specVersion>\n    <major>1</major>\n    <minor>0</minor>\n  </specVersion>\n"
        f"  <URLBase>{xml_text(_base(device))}</URLBase>\n"
        "  <device>\n"
        "    <deviceType>urn:schemas-upnp-org:device:MediaServer:1</deviceType>\n"
        f"    <friendlyName>{xml_text(clean_text(device.friendly_name))}</friendlyName>\n"
        f"    <manufacturer>{xml_text(device.manufacturer)}</manufacturer>\n"
        f"    <modelName>{xml_text(device.model)}</modelName>\n"
        f"    <modelNumber>{xml_text(device.model)}</modelNumber>\n"
        f"    <serialNumber>{device_id}</serialNumber>\n"
        f"    <UDN>uuid:{udn}</UDN>\n"
        "  </device>\n"
        "</root>\n"
    )


def _base(device: TunerDevice) -> str:
    return device.base_url.rstrip("/")
