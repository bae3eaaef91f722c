"""The pure parts of intake: Meta's signature, keyed hashes, reading mail."""

from __future__ import annotations

import pytest

from services.intake.channels.meta import BadSignature, signature, verify
from services.intake.mail import read
from services.intake.mail_text import html_to_text
from services.intake.pseudonyms import Pseudonyms


def test_the_signature_matches_metas_published_vector() -> None:
    expected = "0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"
    assert signature("secret", b"test") == f"sha256={expected}"
    verify("secret", b"test", f"sha256={expected}")
    with pytest.raises(BadSignature):
        verify("secret", b"test!", f"sha256={expected}")
    with pytest.raises(BadSignature):
        verify("", b"test", signature("", b"test"))


def test_one_phone_number_written_three_ways_is_one_hash() -> None:
    hashes = Pseudonyms(b"k")
    forms = ["+62 812-3456-7890", "0812 3456 7890", "+6281234567890"]
    assert len({hashes.of("phone", form) for form in forms}) == 1
    assert hashes.of("email", "Siti@Example.ID") == hashes.of("email", "siti@example.id")
    assert Pseudonyms(b"other").of("phone", forms[0]) != hashes.of("phone", forms[0])
    assert "81234567890" not in hashes.of("phone", forms[0])


def test_html_mail_reads_as_text_without_scripts() -> None:
    html = "<div>Halo,</div><p>Izin <b>saya</b> belum&nbsp;selesai.</p><script>alert(1)</script>"
    assert html_to_text(html) == "Halo,\nIzin saya belum selesai."


def test_a_mail_without_message_id_is_known_by_its_content() -> None:
    raw = b"From: A <a@b.id>\r\nSubject: x\r\n\r\nisi\r\n"
    assert read(raw).message_id == read(raw).message_id
    assert read(raw).message_id != read(raw + b"lain").message_id
    assert read(raw).sender == "a@b.id"
