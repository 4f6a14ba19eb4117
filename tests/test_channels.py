"""Channels against real receivers on loopback (SMTP via aiosmtpd, an HTTP server that checks
Standard Webhooks signatures) and presets against recorded request shapes (respx)."""
from __future__ import annotations

import base64
import email
import json
import socket
from collections.abc import Iterator
from dataclasses import replace
from email import policy
from pathlib import Path

import httpx
import pytest
import respx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from monitor.channels import (DeliveryError, EmailChannel, EmailConfig, TelegramChannel, TelegramConfig, WebhookChannel,
                              WebhookConfig)
from monitor.channels.telegram import telegram_chunks
from monitor.message import Event, Message, Series
from tests.receiver import Receiver

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def event(i: int = 0, long: bool = False, **changes) -> Event:
    base = Event(event="firing", rule="shipment_deadline", severity="critical", fingerprint=f"fp{i}", account="shop",
                 client_id=123456, title=f"Просрочена отгрузка {i}",
                 explanation="12 отправлений не переданы в доставку" + (" <и т.д.>" * 900 if long else ""),
                 support_request="Seller ID (Client-Id): 123456\nПросьба: организовать забор",
                 started_at="2026-11-18T08:00:00+00:00", notified_at="2026-11-18T09:00:00+00:00",
                 support_topic="logistics", evidence={"postings": 2}, affected_postings=("1-1-1", "2-1-1"),
                 affected_skus=(5,))
    return replace(base, **changes)


def message(events: int = 1, long: bool = False, **changes) -> Message:
    return Message(id="msg-1", account="shop", client_id=123456, created_at="2026-11-18T09:00:00+00:00",
                   language="ru", events=tuple(event(i, long, **changes) for i in range(events)))


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, Mailbox]]:
    box = Mailbox()

    def authenticate(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=auth_data.login == b"shop" and auth_data.password == b"s3cret", handled=False)
    with socket.socket() as probe:  # a free loopback port (aiosmtpd cannot report one it picked itself)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port, authenticator=authenticate, auth_require_tls=False)
    controller.start()
    yield controller, box
    controller.stop()


def email_config(controller: Controller, tmp_path: Path, **extra) -> EmailConfig:
    (tmp_path / "smtp-password").write_text("s3cret")
    return EmailConfig(type="email", name="mail", host="127.0.0.1", port=controller.port, security="plain",
                       sender="monitor@shop.example", to=["owner@shop.example", "ops@shop.example"], **extra)


def test_email_arrives_as_text_and_html_with_the_request_and_a_csv(smtp, tmp_path: Path) -> None:
    controller, box = smtp
    EmailChannel(email_config(controller, tmp_path)).send(message(events=2))
    [(recipients, mail)] = box.messages
    assert recipients == ["owner@shop.example", "ops@shop.example"]
    assert mail["Subject"] == "ozon-monitor, магазин «shop»: 2 уведомления" and "msg-1" in mail["Message-ID"]
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "Seller ID (Client-Id): 123456" in text and "Обращение в поддержку Ozon" in text
    assert "<pre" in html and "Просрочена отгрузка 1" in html
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "affected.csv"
    table = attachment.get_payload(decode=True)
    assert table.startswith(b"\xef\xbb\xbf")  # Russian Excel reads UTF-8 only after a byte-order mark
    lines = table.decode("utf-8-sig").splitlines()
    assert lines[0] == "проблема;номер отправления;SKU;артикул;название"
    assert "Просрочена отгрузка 0;1-1-1;;;" in lines and "Просрочена отгрузка 0;;5;;" in lines


def test_email_shows_a_chart_of_the_anomaly_in_its_body(smtp, tmp_path: Path) -> None:
    controller, box = smtp
    sales = message(rule="sales_drop", started_at="2026-11-18T01:00:00+00:00", series=Series(
        start="2026-11-16T09:00:00+00:00", step_minutes=60, observed=(5,) * 40 + (0,) * 8, expected=(5.5,) * 48,
        low=(3,) * 48, high=(8,) * 48))
    EmailChannel(email_config(controller, tmp_path)).send(sales)
    [(_, mail)] = box.messages
    charts = [p for p in mail.walk() if p.get_content_type() == "image/png"]
    assert len(charts) == 1 and charts[0].get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    assert charts[0].get_filename() == "chart-fp0.png" and charts[0].get_content_disposition() == "inline"
    html = next(p for p in mail.walk() if p.get_content_type() == "text/html").get_content()
    assert f"src='cid:{charts[0]['Content-ID'].strip('<>')}'" in html  # shown in the body, not as a file
    assert not [a for a in mail.iter_attachments() if a.get_content_type() == "image/png"]


def test_email_logs_in_when_a_user_is_set(smtp, tmp_path: Path) -> None:
    controller, box = smtp
    EmailChannel(email_config(controller, tmp_path, username="shop", password_file=tmp_path / "smtp-password")).send(
        message())
    assert len(box.messages) == 1


def test_a_wrong_smtp_password_is_a_permanent_failure(smtp, tmp_path: Path) -> None:
    controller, _ = smtp
    (tmp_path / "wrong").write_text("nope")
    channel = EmailChannel(email_config(controller, tmp_path, username="shop", password_file=tmp_path / "wrong"))
    with pytest.raises(DeliveryError, match="login") as error:
        channel.send(message())
    assert error.value.permanent


def test_smtp_down_is_a_retryable_failure(tmp_path: Path) -> None:
    config = EmailConfig(type="email", host="127.0.0.1", port=9, security="plain", sender="a@b.c", to=["d@e.f"],
                         timeout_seconds=2)
    with pytest.raises(DeliveryError, match="SMTP 127.0.0.1:9") as error:
        EmailChannel(config).send(message())
    assert not error.value.permanent


def test_webhook_is_signed_versioned_and_deduplicated_by_id(receiver: Receiver, tmp_path: Path) -> None:
    receiver.secret = SECRET
    (tmp_path / "secret").write_text(SECRET)
    channel = WebhookChannel(WebhookConfig(type="webhook", name="hook", url=receiver.url,
                                           secret_file=tmp_path / "secret"))
    channel.send(message())
    channel.send(message())  # a resend after a crash carries the same id
    assert receiver.rejected == 0 and receiver.ids() == ["msg-1", "msg-1"] and list(receiver.accepted()) == ["msg-1"]
    payload = receiver.accepted()["msg-1"]
    assert payload["version"] == "1" and payload["type"] == "ozon-monitor.digest"
    alert = payload["alerts"][0]
    assert alert["status"] == "firing" and alert["fingerprint"] == "fp0" and alert["support_topic"] == "logistics"
    assert alert["affected_postings"] == ["1-1-1", "2-1-1"] and "support_chat" in alert["links"]


def test_a_wrong_secret_is_rejected_by_the_receiver_and_reported_permanent(receiver: Receiver,
                                                                           tmp_path: Path) -> None:
    receiver.secret = SECRET
    (tmp_path / "secret").write_text("whsec_" + base64.b64encode(b"another key").decode())
    channel = WebhookChannel(WebhookConfig(type="webhook", url=receiver.url, secret_file=tmp_path / "secret"))
    with pytest.raises(DeliveryError, match="HTTP 401") as error:
        channel.send(message())
    assert error.value.permanent and receiver.rejected == 1


@respx.mock
def test_slack_preset_posts_text() -> None:
    route = respx.post("https://hooks.slack.com/services/T/B/X").mock(return_value=httpx.Response(200, text="ok"))
    WebhookChannel(WebhookConfig(type="webhook", url="https://hooks.slack.com/services/T/B/X", format="slack")).send(
        message())
    body = json.loads(route.calls[0].request.content)
    assert list(body) == ["text"] and "Просрочена отгрузка 0" in body["text"]


@respx.mock
def test_telegram_sends_html_in_chunks_under_4096_to_every_chat(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TG_TOKEN", "123:ABC")
    route = respx.post("https://api.telegram.org/bot123:ABC/sendMessage").mock(
        return_value=httpx.Response(200, json={"ok": True}))
    document = respx.post("https://api.telegram.org/bot123:ABC/sendDocument").mock(
        return_value=httpx.Response(200, json={"ok": True}))
    config = TelegramConfig(type="telegram", chat_id=["-100", 42], token_env="TG_TOKEN")
    TelegramChannel(config).send(message(events=3, long=True))
    bodies = [json.loads(call.request.content) for call in route.calls]
    assert len(bodies) >= 6 and all(len(b["text"]) < 4096 for b in bodies)
    assert bodies[0]["parse_mode"] == "HTML" and [b["chat_id"] for b in bodies].count("-100") == len(bodies) // 2
    assert {b["chat_id"] for b in bodies} == {"-100", "42"}
    # the alerts first (with their buttons), each request on its own, then the affected list as a file
    assert any("reply_markup" in b for b in bodies) and any(b["text"].startswith("<i>Обращение") for b in bodies)
    assert len(document.calls) == 2 and b'filename="affected.csv"' in document.calls[0].request.content


@respx.mock
def test_telegram_retry_after_is_passed_to_the_outbox(monkeypatch) -> None:
    monkeypatch.setenv("TG_TOKEN", "123:ABC")
    respx.post("https://api.telegram.org/bot123:ABC/sendMessage").mock(return_value=httpx.Response(
        429, json={"ok": False, "error_code": 429, "parameters": {"retry_after": 17}}))
    config = TelegramConfig(type="telegram", chat_id="1", token_env="TG_TOKEN")
    with pytest.raises(DeliveryError) as error:
        TelegramChannel(config).send(message())
    assert error.value.retry_after == 17 and not error.value.permanent and "123:ABC" not in str(error.value)


@respx.mock
def test_alertmanager_preset_posts_the_v4_shape() -> None:
    route = respx.post("http://am.local/hook").mock(return_value=httpx.Response(200))
    WebhookChannel(WebhookConfig(type="webhook", name="am", url="http://am.local/hook", format="alertmanager")).send(
        message())
    body = json.loads(route.calls[0].request.content)
    assert body["version"] == "4" and body["status"] == "firing" and body["receiver"] == "am"
    assert body["alerts"][0]["labels"] == {"alertname": "shipment_deadline", "severity": "critical", "account": "shop"}


@respx.mock
def test_server_errors_are_retryable_client_errors_permanent() -> None:
    respx.post("http://x.local/a").mock(return_value=httpx.Response(503))
    respx.post("http://x.local/b").mock(return_value=httpx.Response(404))
    with pytest.raises(DeliveryError) as retry:
        WebhookChannel(WebhookConfig(type="webhook", url="http://x.local/a")).send(message())
    with pytest.raises(DeliveryError) as park:
        WebhookChannel(WebhookConfig(type="webhook", url="http://x.local/b")).send(message())
    assert not retry.value.permanent and park.value.permanent


def test_telegram_chunks_keep_each_event_whole_when_it_fits() -> None:
    chunks = telegram_chunks(replace(message(events=40), listed=40))
    assert all(len(c) < 4096 for c in chunks) and sum(c.count("Просрочена отгрузка") for c in chunks) == 40
    capped = telegram_chunks(message(events=40))  # ten in full, the rest counted
    assert sum(c.count("Просрочена отгрузка") for c in capped) == 10 and "И ещё 30 проблем" in capped[-1]


@pytest.fixture
def tls_smtp(tmp_path: Path, monkeypatch) -> Iterator[tuple[int, int, Mailbox]]:
    """Two real SMTP servers with a test CA's certificate: one speaking STARTTLS (and refusing
    mail without it), one implicit TLS. The client trusts the CA through SSL_CERT_FILE."""
    import ssl

    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_context)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    box = Mailbox()
    ports = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    starttls = Controller(box, hostname="127.0.0.1", port=ports[0], tls_context=server_context,
                          require_starttls=True)
    implicit = Controller(box, hostname="127.0.0.1", port=ports[1], ssl_context=server_context)
    starttls.start()
    implicit.start()
    yield ports[0], ports[1], box
    starttls.stop()
    implicit.stop()


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_email_over_starttls_and_implicit_tls(tls_smtp, security: str) -> None:
    starttls_port, tls_port, box = tls_smtp
    config = EmailConfig(type="email", host="127.0.0.1", port=starttls_port if security == "starttls" else tls_port,
                         security=security, sender="monitor@shop.example", to=["owner@shop.example"])
    EmailChannel(config).send(message())
    assert len(box.messages) == 1 and box.messages[0][1]["X-Ozon-Monitor-Id"] == "msg-1"


def test_plain_smtp_is_refused_where_the_server_requires_tls(tls_smtp) -> None:
    starttls_port, _, box = tls_smtp
    config = EmailConfig(type="email", host="127.0.0.1", port=starttls_port, security="plain",
                         sender="monitor@shop.example", to=["owner@shop.example"], timeout_seconds=5)
    with pytest.raises(DeliveryError):
        EmailChannel(config).send(message())
    assert box.messages == []


def test_an_event_longer_than_a_telegram_message_is_cut_into_valid_pieces() -> None:
    chunks = telegram_chunks(message(long=True))
    assert len(chunks) >= 2 and all(len(c) < 4096 for c in chunks)
    assert "<pre>" not in "".join(chunks) and "&lt;и т.д.&gt;" in chunks[0]  # escaped, no half-open tags


def test_telegram_through_a_socks5_proxy_fails_as_a_delivery_not_a_missing_package(monkeypatch) -> None:
    """socks5:// is what sellers use where api.telegram.org is blocked: the package it needs is
    installed, so a dead proxy is a failed delivery to retry, named, never an ImportError."""
    monkeypatch.setenv("TG_TOKEN", "123:ABC")
    config = TelegramConfig(type="telegram", chat_id=["1"], token_env="TG_TOKEN", proxy="socks5://127.0.0.1:9",
                            timeout_seconds=2)
    with pytest.raises(DeliveryError) as failed:
        TelegramChannel(config).send(message())
    assert "ConnectError" in str(failed.value) and "123:ABC" not in str(failed.value) and not failed.value.permanent
    assert "proxy" not in failed.value.text("ru")  # one is set: nothing to suggest
    direct = config.model_copy(update={"proxy": None, "api_url": "http://127.0.0.1:9"})
    with pytest.raises(DeliveryError) as failed:
        TelegramChannel(direct).send(message())
    assert failed.value.text("ru").endswith("Если api.telegram.org недоступен из этой сети, укажите в канале proxy "
                                            "(см. config.example.toml)")
