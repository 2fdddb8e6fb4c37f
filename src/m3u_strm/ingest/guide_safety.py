"""Defences of the XMLTV reader against hostile XML: no entity declarations, no DTD ever loaded.

DOCTYPEs are accepted (``<!DOCTYPE tv SYSTEM "https://iptvx.one/xmltv.dtd">`` is common), but a document that
declares entities (XXE, billion laughs, quadratic blowup) is refused by :class:`PrologGuard` before its body is
parsed, and :func:`new_guide_parser` is an lxml pull parser that loads no DTD, from the network or from disk.
"""

from __future__ import annotations

from lxml import etree

from m3u_strm.errors import UnsafeDocumentError

_CODECS = ("utf-8", "utf-16-le", "utf-16-be")
_DOCTYPE_MARKERS = tuple("<!DOCTYPE".encode(codec) for codec in _CODECS)
_ENTITY_MARKERS = tuple("<!ENTITY".encode(codec) for codec in _CODECS)
_MARKER_OVERLAP = max(len(marker) for marker in _DOCTYPE_MARKERS) - 1


class PrologGuard:
    """Rejects entity declarations in the bytes up to the root element, before lxml parses them.

    Fed every chunk until the root element is known. Entities can only be declared inside a DOCTYPE, so
    ``<!ENTITY`` counts only after ``<!DOCTYPE``; a guide without DOCTYPE whose first chunk quotes the text
    in a CDATA description is not rejected.
    """

    def __init__(self, source_name: str) -> None:
        self.source_name = source_name
        self.saw_content = False
        self._saw_doctype = False
        self._tail = b""

    def check(self, chunk: bytes) -> None:
        window = self._tail + chunk  # the tail catches a marker split across two reads
        self._saw_doctype = self._saw_doctype or any(marker in window for marker in _DOCTYPE_MARKERS)
        if self._saw_doctype and any(marker in window for marker in _ENTITY_MARKERS):
            raise self.unsafe()
        self._tail = window[-_MARKER_OVERLAP:]
        self.saw_content = self.saw_content or bool(chunk.strip())

    def check_root(self, root: etree._Element) -> None:
        # Second line of defence for encodings the byte scan does not know.
        dtd = root.getroottree().docinfo.internalDTD
        if dtd is not None and any(True for _ in dtd.iterentities()):  # type: ignore[attr-defined]
            raise self.unsafe()

    def unsafe(self) -> UnsafeDocumentError:
        return UnsafeDocumentError(
            f"The guide {self.source_name!r} declares XML entities, which XMLTV guides do not need; "
            "it was not read because entities can expand without limit or read local files.",
            hint="If this is a genuine guide, ask its provider for one without <!ENTITY> declarations.",
        )


def new_guide_parser() -> etree.XMLPullParser:
    # Not collect_ids=False: lxml sets libxml2's ``loadsubset`` flag for it, and libxml2 then reads the
    # external DTD (file:///etc/passwd in a DOCTYPE was read) despite load_dtd=False.
    return etree.XMLPullParser(
        events=("end",),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
