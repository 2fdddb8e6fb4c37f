"""The emulated HDHomeRun's documents: golden files, field names as devices write them, safe XML."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from defusedxml import ElementTree
from hypothesis import given
from hypothesis import strategies as st

from m3u_strm.outputs.hdhomerun import (
    LineupEntry,
    TunerDevice,
    device_id_from,
    device_id_is_valid,
    device_xml,
    discover_json,
    lineup_json,
    lineup_status_json,
)
from tests.outputs.golden_files import assert_matches_golden

UPNP = "{urn:schemas-upnp-org:device-1-0}"
BASE = "http://192.168.1.5:8000/hdhr/hd_Tok-3n"
DEVICE = TunerDevice("1a2b3c4d", 'Living room <Tom & "Jerry">\x01', BASE + "/", tuner_count=3)
LINEUP = (
    LineupEntry("101", "BBC One (FHD)", "http://192.168.1.5:8000/play/pb_Tok/live/1", hd=True),
    LineupEntry("102", 'Kids, "Fun" & <Games>\n#EXTINF', "http://192.168.1.5:8000/play/pb_Tok/live/2"),
    LineupEntry("104", "قناة الجزيرة 😀", "http://192.168.1.5:8000/play/pb_Tok/live/4"),
)


def as_json(document: object) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


@pytest.mark.parametrize(
    ("name", "render"),
    [
        ("discover.json", lambda: as_json(discover_json(DEVICE))),
        ("lineup_status.json", lambda: as_json(lineup_status_json())),
        ("lineup.json", lambda: as_json(lineup_json(LINEUP))),
        ("device.xml", lambda: device_xml(DEVICE).encode()),
    ],
    ids=["discover", "lineup-status", "lineup", "device-xml"],
)
def test_documents_match_golden_files(name: str, render: Callable[[], bytes]) -> None:
    assert_matches_golden(name, render())


def test_discover_json_has_the_fields_clients_read() -> None:
    discover = discover_json(DEVICE)

    assert list(discover) == [
        "FriendlyName",
        "Manufacturer",
        "ModelNumber",
        "FirmwareName",
        "FirmwareVersion",
        "DeviceID",
        "DeviceAuth",
        "BaseURL",
        "LineupURL",
        "TunerCount",
    ]
    assert (discover["DeviceID"], discover["TunerCount"]) == ("1A2B3C4D", 3)
    assert discover["FriendlyName"] == 'Living room <Tom & "Jerry">'
    assert (discover["BaseURL"], discover["LineupURL"]) == (BASE, f"{BASE}/lineup.json")


def test_lineup_status_reports_an_idle_cable_tuner() -> None:
    assert lineup_status_json() == {"ScanInProgress": 0, "ScanPossible": 1, "Source": "Cable", "SourceList": ["Cable"]}


def test_lineup_marks_only_hd_channels_and_keeps_urls() -> None:
    lineup = lineup_json(LINEUP)

    assert [list(item) for item in lineup] == [
        ["GuideNumber", "GuideName", "HD", "URL"],
        ["GuideNumber", "GuideName", "URL"],
        ["GuideNumber", "GuideName", "URL"],
    ]
    assert lineup[0]["HD"] == 1
    assert [item["URL"] for item in lineup] == [entry.url for entry in LINEUP]
    assert lineup[1]["GuideName"] == 'Kids, "Fun" & <Games> #EXTINF'


def test_device_xml_parses_and_keeps_a_hostile_name_as_text() -> None:
    root = ElementTree.fromstring(device_xml(DEVICE))

    assert root.tag == f"{UPNP}root"
    assert root.findtext(f"{UPNP}URLBase") == BASE
    device = root.find(f"{UPNP}device")
    assert device is not None
    assert device.findtext(f"{UPNP}friendlyName") == 'Living room <Tom & "Jerry">'
    assert device.findtext(f"{UPNP}deviceType") == "urn:schemas-upnp-org:device:MediaServer:1"
    assert device.findtext(f"{UPNP}serialNumber") == "1A2B3C4D"
    assert (device.findtext(f"{UPNP}UDN") or "").startswith("uuid:")


def test_udn_is_stable_per_device_id_and_differs_between_devices() -> None:
    def udn(device_id: str) -> str | None:
        return ElementTree.fromstring(device_xml(TunerDevice(device_id, "T", BASE, 1))).findtext(f".//{UPNP}UDN")

    assert udn("1A2B3C4D") == udn("1a2b3c4d") != udn("1A2B3C4E")


@pytest.mark.parametrize(
    ("device_id", "tuner_count"),
    [("1A2B3C4", 2), ("1A2B3C4D5", 2), ("1A2B3C4G", 2), ("1A2B 3C4", 2), ("", 2), ("1A2B3C4D", 0)],
    ids=["seven-digits", "nine-digits", "not-hex", "space", "empty", "no-tuners"],
)
def test_invalid_devices_are_refused(device_id: str, tuner_count: int) -> None:
    with pytest.raises(ValueError):
        TunerDevice(device_id, "T", BASE, tuner_count)


@pytest.mark.parametrize(
    ("device_id", "valid"),
    [("1053C0CA", True), ("1053C0CB", False), ("10A0BC2E", False), ("FFFFFFFF", True), ("12345678", False)],
)
def test_device_id_checksum_follows_libhdhomerun(device_id: str, valid: bool) -> None:
    assert device_id_is_valid(device_id) is valid


@given(st.binary(min_size=0, max_size=40))
def test_generated_device_ids_pass_the_checksum_plex_applies(seed: bytes) -> None:
    device_id = device_id_from(seed)
    assert len(device_id) == 8 and device_id == device_id.upper()
    assert device_id_is_valid(device_id)
    assert device_id_from(seed) == device_id
