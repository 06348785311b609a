"""Wire-format checks against published vectors and independent implementations (no server).

WeChat Pay: the AEAD_AES_256_GCM and SHA256withRSA test vectors published in WeChat Pay's official
SDKs (github.com/wechatpay-apiv3: wechatpay-java core/src/test/.../AeadAesCipherTest.java,
RSAVerifierTest.java with resources/merchant_private_key.pem and merchant_certificate.pem;
wechatpay-go utils/aes_test.go and utils/sign_test.go). WeChat's documentation pages show the
format but no complete key/ciphertext/plaintext example, so the SDK vectors are what is published.
Notifications and headers are also checked against signatures and ciphertexts made here with the
`cryptography` primitives directly. Alipay: a notification signed by python-alipay-sdk verifies.
"""

from __future__ import annotations

import base64
import json
import time

import pytest
from alipay import AliPay
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from integrations import alipay_trade, wechatpay

# ---- published WeChat Pay SDK vectors ---------------------------------------------------------------

JAVA_APIV3_KEY = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"  # wechatpay-java TestConfig.API_V3_KEY
JAVA_AEAD = {"associated_data": "associatedData", "nonce": "uluk4a9R25RW",
             "ciphertext": "ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI=", "plaintext": b"message"}
GO_AEAD = {"key": "testAPIv3Key0000", "associated_data": "Dl56FrqWQJF1t9LtC3vEUsniZKvbqdR8",
           "nonce": "wCq51qZv4Yfg", "ciphertext": "FsdXzxryWfKwvLJKf8LG/ToRPTRh8RN9wROC", "plaintext": b"Hello World"}

JAVA_MERCHANT_PRIVATE_KEY = """-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCaZzehUwzcxdLg
Gn/UNryHLdX0yBvCqD0p92/BdlCIBi0dmzZzrfc+FF0xK70AP9b2+Ry5q+zXUU+d
PucJmgwABiZ+Lte+4euMxqPCEkdEu9lyiphalpoaOVPbmDNatzq9k5a/P454QRWM
dkLUJZCeoL9bF2Gn/2+wWEw3sL8zFFcOM8Jr1PdOLmAx+h7pf/87jcmXXCm+SZqw
5MtILKQi9zHWujYdMA0IcYNeQaNl1h/NUnungdIHKaaU+17wCXqTcZsipAGoqfqr
Hx/sr30ZszOdHYOvFNiB+rhEldBGSLWwSYE6LFkbP9GdQWKIQCip3E5dLj5ZFkDe
Ov4Hekf9AgMBAAECggEAEsVsqnS90hNMzUj7dHHJHsgQRGeVlGc+tFzsHcGEDd1u
W7SUfKDQN6BjKgiuvBqGyFTFzL7dltnAS5YroWu0fMZCpMGOIhs2N1Go8/2j43PQ
/k9iMVUw2/JPQxmwWJ2BCy4nvA1+hRkohQCVpFQCzn4tdWYUzcdMrUw2y+h1fkCQ
5MJn7iw9QHKQSeFeCl1/xq2PvOtiK/r1LsckyKNSSNgFEfxyWYaKbnK9OH+5rFKQ
QuI+fnAgE6QiLvmW0NqqZUSfqkLKi/FSWI13ns0H6OxjqpLX8VQ6+Cw5qq8fCuv2
gzkVk8A85ZTCQL/q9qDilt9uAE0bE924WU+n2zkBoQKBgQDQvIufN6fKpm27k4yx
RNV23fj9nojewaVqGg/3yuyiAu6w/yFcTXkGMVOicTYraX2mliHTIoyP8ywKGqqa
XS/Kk3tGD1K04KriPiFwWXU54+DmOJEyYoJlmXOm4BoZ1lW0z5HECC9eO/VPSDY+
zQdRYSCTdSHEgYuOGQSLPPwdrQKBgQC9XTrvkUkIthayc+4IhV6m4kT8uwzuoc3f
uaJhFFcpLKqzcpQBH71TYCXfqkucnO0no0sGerBB4HJQoVRK+jsdhNZhcw1JKLau
E+YlCSRLZ62vyzBTzLw1fnFBp82z1VZBujCrMP+DdwXBTsnkRaUtmDEG0s6YsCwd
fayF0PB9kQKBgAHc/P4R2ByV+brH6WSXsbQa7SMObDhY0CovS18x34Tes9S+okSZ
qG/mttFnY01l5qo7AthIoaqTSBxa+pTgKhIL2PjaICnfK4dTeKbxFXvLzfEgJiOl
/3X6ta6Sp4j9gcxYYfu2+v1DWcA4a8uJtvwB+vF2BTQk1+MP1BuOEs4NAoGBAK3y
+HKdOUPBUPQ4vk4hhaMzcz/d67FB/UYo1lrrPm3aVCxnckHeECKIzgG6A58oIEor
HH4lMcgyD5C1wiLl3mvtXKlD8M5lkfoy2VToIukJomk783bnOXTCY/N12+X4cTYL
fS2k4vK24RiD8b25pFRP26ly+MkV/FBS46pBFsmhAoGAOjfl2vGyJo8CRQ/HBLsS
Bw2VQgRvZU7mom1qa2SKA2VlsFz/aiBCcT8XEsTJxkVYkvbdfbyx2Z9kCbI6Y2cz
Z+M/0rQSRv/eOiBW7anBImZMg6WcYNfRfumkuNq+6fcCKKtZuyrd7ZFc0jTcVasI
xNJ1TM6J6kRQdn5O6Ot4ERw=
-----END PRIVATE KEY-----
"""
JAVA_MERCHANT_CERTIFICATE = """-----BEGIN CERTIFICATE-----
MIIDrTCCApWgAwIBAgIUXxxy4qiTG3Ki4Tr43ukkces5cRUwDQYJKoZIhvcNAQEL
BQAwZjELMAkGA1UEBhMCQ04xEjAQBgNVBAgMCUd1YW5nZG9uZzERMA8GA1UEBwwI
c2hlbnpoZW4xITAfBgNVBAoMGEludGVybmV0IFdpZGdpdHMgUHR5IEx0ZDENMAsG
A1UEAwwEdGVzdDAeFw0yMjA1MTAwMTU3MTBaFw0yNTA1MDkwMTU3MTBaMGYxCzAJ
BgNVBAYTAkNOMRIwEAYDVQQIDAlHdWFuZ2RvbmcxETAPBgNVBAcMCHNoZW56aGVu
MSEwHwYDVQQKDBhJbnRlcm5ldCBXaWRnaXRzIFB0eSBMdGQxDTALBgNVBAMMBHRl
c3QwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQCaZzehUwzcxdLgGn/U
NryHLdX0yBvCqD0p92/BdlCIBi0dmzZzrfc+FF0xK70AP9b2+Ry5q+zXUU+dPucJ
mgwABiZ+Lte+4euMxqPCEkdEu9lyiphalpoaOVPbmDNatzq9k5a/P454QRWMdkLU
JZCeoL9bF2Gn/2+wWEw3sL8zFFcOM8Jr1PdOLmAx+h7pf/87jcmXXCm+SZqw5MtI
LKQi9zHWujYdMA0IcYNeQaNl1h/NUnungdIHKaaU+17wCXqTcZsipAGoqfqrHx/s
r30ZszOdHYOvFNiB+rhEldBGSLWwSYE6LFkbP9GdQWKIQCip3E5dLj5ZFkDeOv4H
ekf9AgMBAAGjUzBRMB0GA1UdDgQWBBQQicr3Vq+2NG2ykH0nxQxsct1RtTAfBgNV
HSMEGDAWgBQQicr3Vq+2NG2ykH0nxQxsct1RtTAPBgNVHRMBAf8EBTADAQH/MA0G
CSqGSIb3DQEBCwUAA4IBAQCH//ZlSAbc6xRlwKwwfbHMsVpAfo/p+Y3397Gi4sR8
RbsW6a3ezXhbiSGiJxDnerx9Cmp4K6U+D3Fl0N9K6CDWfwpGNiZvjmCxtM/wb7dM
u+4U0MXJGBcaePj4mtV/+qPxSWDCQ+PR5OcYRQnac9LfrffTuejQx5aw9FcD7egI
SYfgkZ/wgHyQcZyhh8s6DuigpEaVGMLLoWDZGJ3D+rt4kXk9y5+03KBB2vobyl6P
+PDgaYrlNR/UQMnKMdkgWp7bebmrcXte32/6FAwK3SuHZOSkteDtRCYhYfG5SGSr
go1ujfIK1zIFyPkKKnsgTUPJXwdC7LI+ZqJuWTyVTNj6
-----END CERTIFICATE-----
"""
JAVA_MERCHANT_SERIAL = "5F1C72E2A8931B72A2E13AF8DEE92471EB397115"
JAVA_SIGNATURE_OF_MESSAGE = (
    "Rq+5ZpWV6IHTWE1+9gCrYJKguNgbItpMdlIA+PVCPCdUAKNlohZz7CL7Y8xWDIFJjdGnErMj6Z+Q/h9CF5MV+nAVkqDmBR0uP5pp"
    "sUEzco4ijvKHsvI2ro4boSW6vSfQs3W8I4QSI9a0/NFIgvj83Fv27LIYZf7deaFWmEwd1fpAeJRCyoKyBeJPdsjVx0//Lqe6"
    "Wze2zVdliLcBvaHCfpd8+rAVGS+FQDeWgHqJ7n/Zy09LmV1/ghs7pO1mdjdD16SHKlysAD3K5hNGUJX/SHrEXEcu1yO1AOb/"
    "YvOVkjNh8243rcfXNE5L4ph2XS11vS+2aToKYSOcKUagf0LLaw==")

GO_PRIVATE_KEY = """-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDZUJN33V+dSfvd
fL0Mu+39XrZNXFFMQSy1V15FpncHeV47SmV0TzTqZc7hHB0ddqAdDi8Z5k3TKqb7
6sOwYr5TcAfuR6PIPaleyE0/0KrljBum2Isa2Nyq7Dgc3ElBQ6YN4l/a+DpvKaz1
FSKmKrhLNskqokWVSlu4g8OlKlbPXQ9ibII14MZRQrrkTmHYHzfi7GXXM0thAKuR
0HNvyhTHBh4/lrYM3GaMvmWwkwvsMavnOex6+eioZHBOb1/EIZ/LzC6zuHArPpyW
3daGaZ1rtQB1vVzTyERAVVFsXXgBHvfFud3w3ShsJYk8JvMwK2RpJ5/gV0QSARcm
LDRUAlPzAgMBAAECggEBAMc7rDeUaXiWv6bMGbZ3BTXpg1FhdddnWUnYE8HfX/km
OFI7XtBHXcgYFpcjYz4D5787pcsk7ezPidAj58zqenuclmjKnUmT3pfbI5eCA2v4
C9HnbYDrmUPK1ZcADtka4D6ScDccpNYNa1g2TFHzkIrEa6H+q7S3O2fqxY/DRVtN
0JIXalBb8daaqL5QVzSmM2BMVnHy+YITJWIkP2a3pKs9C0W65JGDsnG0wVrHinHF
+cnhFZIbaPEI//DAFMc9NkrWOKVRTEgcCUxCFaHOZVNxDWZD7A2ZfJB2rK6eg//y
gEiFDR2h6mTaDowMB4YF2n2dsIO4/dCG8vPHI20jn4ECgYEA/ZGu6lEMlO0XZnam
AZGtiNgLcCfM/C2ZERZE7QTRPZH1WdK92Al9ndldsswFw4baJrJLCmghjF/iG4zi
hhBvLnOLksnZUfjdumxoHDWXo2QBWbI5QsWIE7AuTiWgWj1I7X4fCXSQf6i+M/y2
6TogQ7d0ANpZFyOkTNMn/tiJvLECgYEA22XqlamG/yfAGWery5KNH2DGlTIyd6xJ
WtJ9j3jU99lZ0bCQ5xhiBbU9ImxCi3zgTsoqLWgA/p00HhNFNoUcTl9ofc0G3zwT
D1y0ZzcnVKxGJdZ6ohW52V0hJStAigtjYAsUgjm7//FH7PiQDBDP1Wa6xSRkDQU/
aSbQxvEE8+MCgYEA3bb8krW7opyM0XL9RHH0oqsFlVO30Oit5lrqebS0oHl3Zsr2
ZGgoBlWBsEzk3UqUhTFwm/DhJLTSJ/TQPRkxnhQ5/mewNhS9C7yua7wQkzVmWN+V
YeUGTvDGDF6qDz12/vJAgSwDDRym8x4NcXD5tTw7mmNRcwIfL22SkysThIECgYAV
BgccoEoXWS/HP2/u6fQr9ZIR6eV8Ij5FPbZacTG3LlS1Cz5XZra95UgebFFUHHtC
EY1JHJY7z8SWvTH8r3Su7eWNaIAoFBGffzqqSVazfm6aYZsOvRY6BfqPHT3p/H1h
Tq6AbBffxrcltgvXnCTORjHPglU0CjSxVs7awW3AEQKBgB5WtaC8VLROM7rkfVIq
+RXqE5vtJfa3e3N7W3RqxKp4zHFAPfr82FK5CX2bppEaxY7SEZVvVInKDc5gKdG/
jWNRBmvvftZhY59PILHO2X5vO4FXh7suEjy6VIh0gsnK36mmRboYIBGsNuDHjXLe
BDa+8mDLkWu5nHEhOxy2JJZl
-----END PRIVATE KEY-----
"""
GO_SIGNATURE_OF_SOURCE = (
    "BKyAfU4iMCuvXMXS0Wzam3V/cnxZ+JaqigPM5OhljS2iOT95OO6Fsuml2JkFANJU9K6q9bLlDhPXuoV"
    "z+pp4hAm6pHU4ld815U4jsKu1RkyaII+1CYBUYC8TK0XtJ8FwUXXz8vZHh58rrAVN1XwNyvD1vfpxrMT4SL536GLwvpUHlCqIMzoZUguLl"
    "i/K8V29QiOhuH6IEqLNJn8e9b3nwNcQ7be3CzYGpDAKBfDGPCqCv8Rw5zndhlffk2FEA70G4hvMwe51qMN/RAJbknXG23bSlObuTCN7Ndj"
    "1aJGH6/L+hdwfLpUtJm4QYVazzW7DFD27EpSQEqA8bX9+8m1rLg==")


def test_published_aead_aes_256_gcm_vector_decrypts_and_encrypts() -> None:
    v = JAVA_AEAD
    assert wechatpay.decrypt_resource(JAVA_APIV3_KEY, v["nonce"], v["associated_data"], v["ciphertext"]) == v["plaintext"]
    assert wechatpay.encrypt_resource(JAVA_APIV3_KEY, v["nonce"], v["associated_data"], v["plaintext"]) == v["ciphertext"]


def test_published_go_sdk_aead_vector_decrypts() -> None:
    v = GO_AEAD
    assert wechatpay.decrypt_resource(v["key"], v["nonce"], v["associated_data"], v["ciphertext"]) == v["plaintext"]


@pytest.mark.parametrize("change", ["key", "nonce", "associated_data", "ciphertext"])
def test_aead_vector_with_any_part_changed_fails(change: str) -> None:
    v = dict(JAVA_AEAD, key=JAVA_APIV3_KEY)
    v[change] = {"key": "b7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb", "nonce": "uluk4a9R25RX", "associated_data": "associatedDatA",
                 "ciphertext": "ulwSiIajGClcvcOYvOQ7+l+0PAbzzwA="}[change]
    with pytest.raises(InvalidTag):
        wechatpay.decrypt_resource(v["key"], v["nonce"], v["associated_data"], v["ciphertext"])


def test_published_sha256_with_rsa_vectors() -> None:
    java_key = wechatpay.load_private_key(JAVA_MERCHANT_PRIVATE_KEY)
    assert wechatpay.sign("message", java_key) == JAVA_SIGNATURE_OF_MESSAGE
    certificate_key = wechatpay.load_public_key(JAVA_MERCHANT_CERTIFICATE)
    assert wechatpay.verify("message", JAVA_SIGNATURE_OF_MESSAGE, certificate_key)
    assert not wechatpay.verify("messagE", JAVA_SIGNATURE_OF_MESSAGE, certificate_key)
    assert wechatpay.certificate_serial(JAVA_MERCHANT_CERTIFICATE) == JAVA_MERCHANT_SERIAL
    assert wechatpay.sign("source", wechatpay.load_private_key(GO_PRIVATE_KEY)) == GO_SIGNATURE_OF_SOURCE


def _independent_verify(public_key: rsa.RSAPublicKey, message: str, signature: str) -> None:
    public_key.verify(base64.b64decode(signature), message.encode(), padding.PKCS1v15(), hashes.SHA256())


def test_authorization_header_verifies_independently() -> None:
    key = wechatpay.load_private_key(JAVA_MERCHANT_PRIVATE_KEY)
    body = '{"mchid":"1900000109"}'
    header = wechatpay.authorization("1900000109", JAVA_MERCHANT_SERIAL, key, "POST",
                                     "/v3/pay/transactions/out-trade-no/PAY1/close", body, 1554208460, "593BEC0C930BF1AF")
    assert header.startswith("WECHATPAY2-SHA256-RSA2048 ")
    fields = wechatpay.parse_authorization(header)
    assert fields["mchid"] == "1900000109" and fields["serial_no"] == JAVA_MERCHANT_SERIAL
    assert (fields["timestamp"], fields["nonce_str"]) == ("1554208460", "593BEC0C930BF1AF")
    expected = "POST\n/v3/pay/transactions/out-trade-no/PAY1/close\n1554208460\n593BEC0C930BF1AF\n" + body + "\n"
    _independent_verify(wechatpay.load_public_key(JAVA_MERCHANT_CERTIFICATE), expected, fields["signature"])
    assert wechatpay.parse_authorization("Bearer abc") == {}
    assert wechatpay.parse_authorization('WECHATPAY2-SHA256-RSA2048 mchid="1"') == {}


def test_request_payment_pay_sign_verifies_independently() -> None:
    key = wechatpay.load_private_key(JAVA_MERCHANT_PRIVATE_KEY)
    params = wechatpay.request_payment_params("wxdemo0000000001", "wx201410272009395522657a690389285100", key,
                                              timestamp=1414561699, nonce="5K8264ILTKCH16CQ2502SI8ZNMTM67VS")
    assert params["package"] == "prepay_id=wx201410272009395522657a690389285100" and params["signType"] == "RSA"
    assert params["timeStamp"] == "1414561699"
    _independent_verify(wechatpay.load_public_key(JAVA_MERCHANT_CERTIFICATE),
                        "wxdemo0000000001\n1414561699\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\n"
                        "prepay_id=wx201410272009395522657a690389285100\n", params["paySign"])


# ---- notifications built with the cryptography primitives directly --------------------------------

APIV3_KEY = "0123456789abcdefghijklmnopqrstuv"
PLATFORM_SERIAL = "PUB_KEY_ID_0114232134912410000000000000"


@pytest.fixture(scope="module")
def platform_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _config(platform_key: rsa.RSAPrivateKey) -> wechatpay.MerchantConfig:
    public_pem = platform_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return wechatpay.MerchantConfig(app_id="wxdemo0000000001", mch_id="1900000109", serial_no="X" * 40,
                                    private_key_pem=JAVA_MERCHANT_PRIVATE_KEY, apiv3_key=APIV3_KEY,
                                    platform_keys={PLATFORM_SERIAL: public_pem}, api_base="https://example.invalid")


def _notification(signing_key: rsa.RSAPrivateKey, *, timestamp: int | None = None, resource: dict | None = None,
                  apiv3_key: str = APIV3_KEY) -> tuple[dict[str, str], bytes]:
    """A notification as WeChat Pay sends one, made with AESGCM and RSA from `cryptography` directly."""
    resource = resource or {"out_trade_no": "PAY1", "trade_state": "SUCCESS", "amount": {"total": 2000}}
    nonce = "fdasflkja484"
    sealed = AESGCM(apiv3_key.encode()).encrypt(nonce.encode(), json.dumps(resource).encode(), b"transaction")
    body = json.dumps({"id": "EV-2018022511223320873", "create_time": "2015-05-20T13:29:35+08:00",
                       "resource_type": "encrypt-resource", "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
                       "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
                                    "ciphertext": base64.b64encode(sealed).decode(), "associated_data": "transaction",
                                    "nonce": nonce}}, ensure_ascii=False)
    timestamp = int(time.time()) if timestamp is None else timestamp
    header_nonce = "C3C5E9A2B1F04D6E8A7B9C0D1E2F3A4B"
    signature = signing_key.sign(f"{timestamp}\n{header_nonce}\n{body}\n".encode(), padding.PKCS1v15(), hashes.SHA256())
    return {"Wechatpay-Serial": PLATFORM_SERIAL, "Wechatpay-Timestamp": str(timestamp), "Wechatpay-Nonce": header_nonce,
            "Wechatpay-Signature": base64.b64encode(signature).decode(),
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048"}, body.encode()


def test_independently_made_notification_verifies_and_decrypts(platform_key) -> None:
    headers, body = _notification(platform_key)
    found = wechatpay.verify_notification(_config(platform_key), headers, body)
    assert found.event_type == "TRANSACTION.SUCCESS" and found.original_type == "transaction"
    assert found.resource == {"out_trade_no": "PAY1", "trade_state": "SUCCESS", "amount": {"total": 2000}}
    assert found.serial == PLATFORM_SERIAL


def test_notification_headers_are_case_insensitive(platform_key) -> None:
    headers, body = _notification(platform_key)
    lowered = {k.lower(): v for k, v in headers.items()}
    assert wechatpay.verify_notification(_config(platform_key), lowered, body).id == "EV-2018022511223320873"


@pytest.mark.parametrize("skew", [-301, 301, -3600])
def test_notification_outside_five_minutes_is_refused(platform_key, skew: int) -> None:
    headers, body = _notification(platform_key, timestamp=int(time.time()) + skew)
    with pytest.raises(wechatpay.NotificationRejected) as refused:
        wechatpay.verify_notification(_config(platform_key), headers, body)
    assert refused.value.reason == "timestamp_stale"


def test_notification_just_inside_five_minutes_is_accepted(platform_key) -> None:
    headers, body = _notification(platform_key, timestamp=int(time.time()) - 290)
    wechatpay.verify_notification(_config(platform_key), headers, body)


def test_tampered_notification_is_refused(platform_key) -> None:
    headers, body = _notification(platform_key)
    tampered = body.replace(b'"summary": "', b'"summary": "x')
    with pytest.raises(wechatpay.NotificationRejected) as refused:
        wechatpay.verify_notification(_config(platform_key), headers, tampered)
    assert refused.value.reason == "signature_invalid"


def test_notification_signed_with_another_key_is_refused(platform_key) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    headers, body = _notification(other)
    with pytest.raises(wechatpay.NotificationRejected) as refused:
        wechatpay.verify_notification(_config(platform_key), headers, body)
    assert refused.value.reason == "signature_invalid"


def test_notification_with_unknown_serial_or_missing_headers_is_refused(platform_key) -> None:
    headers, body = _notification(platform_key)
    with pytest.raises(wechatpay.NotificationRejected) as refused:
        wechatpay.verify_notification(_config(platform_key), {**headers, "Wechatpay-Serial": "PUB_KEY_ID_OTHER"}, body)
    assert refused.value.reason == "serial_unknown"
    del headers["Wechatpay-Signature"]
    with pytest.raises(wechatpay.NotificationRejected) as refused:
        wechatpay.verify_notification(_config(platform_key), headers, body)
    assert refused.value.reason == "signature_headers_missing"


def test_notification_encrypted_with_another_apiv3_key_is_refused(platform_key) -> None:
    headers, body = _notification(platform_key, apiv3_key="vutsrqponmlkjihgfedcba9876543210")
    with pytest.raises(wechatpay.NotificationRejected) as refused:
        wechatpay.verify_notification(_config(platform_key), headers, body)
    assert (refused.value.reason, refused.value.status) == ("decrypt_failed", 400)


# ---- Alipay: a notification signed by python-alipay-sdk --------------------------------------------

def _pem_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@pytest.fixture(scope="module")
def alipay_keys() -> dict[str, str]:
    gateway_private, gateway_public = _pem_pair()
    _, app_public = _pem_pair()
    return {"gateway_private": gateway_private, "gateway_public": gateway_public, "app_public": app_public}


def _sdk_signed_notification(keys: dict[str, str], **changes: str) -> dict[str, str]:
    """Alipay's side played by python-alipay-sdk: it signs the sorted params (without sign_type)."""
    params = {
        "notify_time": "2026-11-23 10:40:12", "notify_type": "trade_status_sync", "notify_id": "ac05099524730693a8b330c5ecf72da9786",
        "app_id": "2021000000000001", "charset": "utf-8", "version": "1.0", "trade_no": "2026112322001405111000000001",
        "out_trade_no": "PAY20261123104000ABCDEFGHJK", "buyer_id": "2088000000000101", "seller_id": "2088000000000999",
        "trade_status": "TRADE_SUCCESS", "total_amount": "20.00", "receipt_amount": "20.00", "subject": "测试收费事项 办件",
        "gmt_create": "2026-11-23 10:39:58", "gmt_payment": "2026-11-23 10:40:11", **changes,
    }
    sdk = AliPay(appid="2021000000000001", app_notify_url=None, app_private_key_string=keys["gateway_private"],
                 alipay_public_key_string=keys["gateway_public"], sign_type="RSA2")
    signed_string = sdk.sign_data(dict(params))  # "k=v&...&sign=<quoted>", the sign over the sorted k=v string
    sign = dict(pair.split("=", 1) for pair in signed_string.split("&"))["sign"]
    from urllib.parse import unquote_plus
    return {**params, "sign_type": "RSA2", "sign": unquote_plus(sign)}


def test_alipay_notification_signed_by_python_alipay_sdk_verifies(alipay_keys) -> None:
    params = _sdk_signed_notification(alipay_keys)
    verified = alipay_trade.verify_notification(alipay_keys["gateway_public"], "2021000000000001", "2088000000000999", params)
    assert verified["out_trade_no"] == "PAY20261123104000ABCDEFGHJK"
    sdk = AliPay(appid="2021000000000001", app_notify_url=None, app_private_key_string=alipay_keys["gateway_private"],
                 alipay_public_key_string=alipay_keys["gateway_public"], sign_type="RSA2")
    ours = alipay_trade.sign_notification({k: v for k, v in params.items() if k not in ("sign", "sign_type")},
                                          alipay_keys["gateway_private"])
    assert ours["sign"] == params["sign"]  # PKCS#1 v1.5 is deterministic: the same signature
    unsigned = {k: v for k, v in ours.items() if k not in ("sign", "sign_type")}
    assert sdk.verify(unsigned, ours["sign"])  # and the SDK accepts ours


@pytest.mark.parametrize("field, value", [("total_amount", "0.01"), ("out_trade_no", "PAY-OTHER"), ("trade_status", "TRADE_CLOSED")])
def test_alipay_notification_tampered_after_signing_is_refused(alipay_keys, field: str, value: str) -> None:
    params = {**_sdk_signed_notification(alipay_keys), field: value}
    with pytest.raises(alipay_trade.NotificationRejected) as refused:
        alipay_trade.verify_notification(alipay_keys["gateway_public"], "2021000000000001", "2088000000000999", params)
    assert refused.value.reason == "signature_invalid"


def test_alipay_notification_signed_with_another_key_or_for_another_app_is_refused(alipay_keys) -> None:
    other_private, _ = _pem_pair()
    wrong_key = _sdk_signed_notification({**alipay_keys, "gateway_private": other_private})
    with pytest.raises(alipay_trade.NotificationRejected) as refused:
        alipay_trade.verify_notification(alipay_keys["gateway_public"], "2021000000000001", "2088000000000999", wrong_key)
    assert refused.value.reason == "signature_invalid"
    other_app = _sdk_signed_notification(alipay_keys, app_id="2021000000000002")
    with pytest.raises(alipay_trade.NotificationRejected) as refused:
        alipay_trade.verify_notification(alipay_keys["gateway_public"], "2021000000000001", "2088000000000999", other_app)
    assert refused.value.reason == "app_id_mismatch"
    other_seller = _sdk_signed_notification(alipay_keys, seller_id="2088000000000888")
    with pytest.raises(alipay_trade.NotificationRejected) as refused:
        alipay_trade.verify_notification(alipay_keys["gateway_public"], "2021000000000001", "2088000000000999", other_seller)
    assert refused.value.reason == "seller_mismatch"
    unsigned = {k: v for k, v in _sdk_signed_notification(alipay_keys).items() if k != "sign"}
    with pytest.raises(alipay_trade.NotificationRejected):
        alipay_trade.verify_notification(alipay_keys["gateway_public"], "2021000000000001", "2088000000000999", unsigned)


@pytest.mark.parametrize("text, fen", [("20.00", 2000), ("0.01", 1), ("12.3", 1230), ("7", 700)])
def test_yuan_amounts_convert_exactly(text: str, fen: int) -> None:
    assert alipay_trade.yuan_to_fen(text) == fen
    assert alipay_trade.yuan_to_fen(alipay_trade.fen_to_yuan(fen)) == fen


@pytest.mark.parametrize("text", ["", "-1.00", "1.001", "1e3", "¥1.00", " 1.00", "1,00"])
def test_malformed_yuan_amounts_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        alipay_trade.yuan_to_fen(text)
