"""Pure rules of identity, without a server: ID numbers, WeChat's data crypto, Alipay's RSA2."""

from __future__ import annotations

import datetime
import json

import pytest
from alipay import AliPay

from integrations import alipay as alipay_api
from integrations import wechat as wechat_api
from integrations.sandbox.keys import process_private_key_pem
from models import idcard
from models.citizens import mask_phone
from models.crypto import FieldCipher
from models.errors import ValidationFailed

# WeChat's published WXBizDataCrypt sample (the demo shipped with the mini-program documentation).
SAMPLE_APP_ID = "wx4f4bc4dec97d474b"
SAMPLE_SESSION_KEY = "tiihtNczf5v6AKRyjwEUhQ=="
SAMPLE_ENCRYPTED_DATA = (
    "CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+3hVbJSRgv+4l"
    "GOETKUQz6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poOFtnEtpyxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInN"
    "lxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn/Hz7saL8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E/"
    "r7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7Xjf"
    "hQlVsAJdNiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/XcxxmK01EpqOyuxINew=="
)
SAMPLE_IV = "r7BXXKkLb8qrSNn05n0qiA=="


# ---- ID numbers (GB 11643) -----------------------------------------------------------------------
@pytest.mark.parametrize("number", ["11010519491231002X", "11010519491231002x", "110101199003071233"])
def test_valid_id_numbers(number: str) -> None:
    parsed = idcard.parse_id_number(number)
    assert parsed.value == number.upper()
    assert parsed.value[17] == idcard.check_character(parsed.value[:17])


def test_id_number_encodes_birth_date_and_gender() -> None:
    parsed = idcard.parse_id_number("11010519491231002X")
    assert parsed.birth_date == datetime.date(1949, 12, 31)
    assert parsed.gender == "female"  # sequence 002: even
    assert parsed.region_code == "110105"
    assert "11010519491231002X" not in repr(parsed)


@pytest.mark.parametrize("number, code", [
    ("110105194912310021", "id_number_check_digit"),   # right shape, wrong check digit
    ("110101199003071234", "id_number_check_digit"),
    ("11010519491231002", "id_number_format"),         # 17 characters
    ("1101051949123100XX", "id_number_format"),
    ("", "id_number_format"),
    ("000105194912310021", "id_number_region"),
    ("110105194902300027", "id_number_birth_date"),    # 30 February
    ("440524188001010014", "id_number_birth_date"),    # 1880: valid check digit, not a living applicant
])
def test_invalid_id_numbers_name_the_problem(number: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        idcard.parse_id_number(number)
    assert [(e.field, e.code) for e in caught.value.errors] == [("id_number", code)]


def _in_digits(number: str, zero: str) -> str:
    """`number` with its digits written in the script whose zero is `zero` (X kept)."""
    return "".join(chr(ord(zero) + int(c)) if c.isdigit() else c for c in number)


# The same number as phones and IMEs send it: fullwidth (全角), half and half, Arabic-Indic,
# Extended Arabic-Indic (Persian keyboards), Devanagari, an ideographic space between groups.
@pytest.mark.parametrize("written", [
    _in_digits("11010519491231002", "\uff10") + "\uff38",
    "11\uff10\uff11\uff10\uff1519491231002x",
    _in_digits("11010519491231002X", "\u0660"),
    "11" + _in_digits("010519491231002X", "\u0660"),
    _in_digits("11010519491231002X", "\u06f0"),
    _in_digits("11010519491231002x", "\u0966"),
    "110105\u300019491231\u3000002X",
])
def test_id_numbers_in_other_digit_forms_normalise_to_ascii(written: str) -> None:
    parsed = idcard.parse_id_number(written)
    assert parsed.value == "11010519491231002X"
    assert parsed.value.isascii()


# Strings of Unicode `\d` characters that no keyboard produces: digits of two different non-ASCII
# scripts in one number. Before normalisation these passed `\d{17}` (the region code in ASCII) and
# became an identity of their own.
@pytest.mark.parametrize("garbage", [
    "11" + _in_digits("0105194", "\u0660") + _in_digits("91231002X", "\u0966"),
    "11" + _in_digits("010519491231002", "\u0660")[:-1] + "\u06f2X",
    "11" + _in_digits("01051949", "\u0e50") + _in_digits("1231002X", "\u1040"),
])
def test_digits_of_mixed_scripts_are_refused(garbage: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        idcard.parse_id_number(garbage)
    assert [(e.field, e.code) for e in caught.value.errors] == [("id_number", "id_number_format")]


# What survives normalisation but is not 17 ASCII digits and a digit or X: refused, never a 500.
@pytest.mark.parametrize("garbage", [
    "11010519491231002X\u200b",            # zero-width space
    "1101051949123100\u0301" + "2X",        # a combining mark
    "110105194912310\u00bd2X",              # ½ (NFKC: 1⁄2)
    "1101051949123100\u2475X",              # ⑵ (NFKC: "(2)")
    "1101051949123100X2",                    # X not last
    "11010519491231002Y",
    "110105-19491231-002X",
    "\ud800" + "1010519491231002X",         # a lone surrogate
    "11010519491231002X" * 100,
])
def test_garbage_id_numbers_are_field_errors(garbage: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        idcard.parse_id_number(garbage)
    assert [(e.field, e.code) for e in caught.value.errors] == [("id_number", "id_number_format")]


def test_birth_date_in_the_future_is_refused() -> None:
    first17 = "11010520990101001"
    number = first17 + idcard.check_character(first17)
    with pytest.raises(ValidationFailed):
        idcard.parse_id_number(number, today=datetime.date(2030, 1, 1))


def test_masks() -> None:
    assert idcard.mask_id_number("110101199003071233") == "110***********1233"
    assert mask_phone("13812341234") == "138****1234"


# ---- WXBizDataCrypt -----------------------------------------------------------------------------------
def test_wechat_published_sample_vector_decrypts() -> None:
    data = wechat_api.decrypt_user_data(SAMPLE_APP_ID, SAMPLE_SESSION_KEY, SAMPLE_ENCRYPTED_DATA, SAMPLE_IV)
    assert data["openId"] == "oGZUI0egBJY1zhBYw2KhdUfwVJJE"
    assert data["unionId"] == "ocMvos6NjeKLIBqg5Mr9QjxrP1FA"
    assert data["nickName"] == "Band"
    assert data["watermark"] == {"timestamp": 1477314187, "appid": SAMPLE_APP_ID}


def test_wechat_data_for_another_app_or_key_is_refused() -> None:
    with pytest.raises(wechat_api.WeChatDataError):
        wechat_api.decrypt_user_data("wxdemo0000000001", SAMPLE_SESSION_KEY, SAMPLE_ENCRYPTED_DATA, SAMPLE_IV)
    with pytest.raises(wechat_api.WeChatDataError):
        wechat_api.decrypt_user_data(SAMPLE_APP_ID, "AAAAAAAAAAAAAAAAAAAAAA==", SAMPLE_ENCRYPTED_DATA, SAMPLE_IV)
    with pytest.raises(wechat_api.WeChatDataError):
        wechat_api.decrypt_user_data(SAMPLE_APP_ID, SAMPLE_SESSION_KEY, "not base64!", SAMPLE_IV)


def test_wechat_encrypt_round_trip() -> None:
    payload = {"purePhoneNumber": "13800138000", "watermark": {"appid": SAMPLE_APP_ID, "timestamp": 1}}
    sealed, iv = wechat_api.encrypt_user_data(SAMPLE_SESSION_KEY, payload)
    assert wechat_api.decrypt_user_data(SAMPLE_APP_ID, SAMPLE_SESSION_KEY, sealed, iv) == payload


# ---- Alipay RSA2 ----------------------------------------------------------------------------------------
APP_KEY = process_private_key_pem("unit-test-app")
GATEWAY_KEY = process_private_key_pem("unit-test-gateway")
PARAMS = {"app_id": "2021000000000001", "method": "alipay.system.oauth.token", "charset": "utf-8",
          "sign_type": "RSA2", "timestamp": "2024-05-01 10:00:00", "version": "1.0",
          "grant_type": "authorization_code", "code": "4b203fe6c11548bcabd8da5bb087a83b", "empty": ""}


def test_signing_content_sorts_and_skips_empty_values() -> None:
    content = alipay_api.signing_content({**PARAMS, "sign": "x"})
    assert content.startswith("app_id=2021000000000001&charset=utf-8&code=")
    assert "empty=" not in content and "sign=" not in content
    assert "sign_type=RSA2" in content
    assert "sign_type" not in alipay_api.signing_content(PARAMS, exclude=("sign", "sign_type"))


def test_rsa2_round_trip_and_tampering() -> None:
    public = alipay_api.public_key_pem(APP_KEY)
    signature = alipay_api.sign_params(PARAMS, APP_KEY)
    assert alipay_api.verify_params(PARAMS, signature, public)
    assert not alipay_api.verify_params({**PARAMS, "code": "another-code"}, signature, public)
    tampered = signature[:-6] + ("AAAAAA" if not signature.endswith("AAAAAA") else "BBBBBB")
    assert not alipay_api.verify_params(PARAMS, tampered, public)
    assert not alipay_api.verify_params(PARAMS, signature, alipay_api.public_key_pem(GATEWAY_KEY))
    assert not alipay_api.verify_params(PARAMS, "not base64 at all", public)


def test_notification_style_verification_leaves_sign_type_out() -> None:
    public = alipay_api.public_key_pem(APP_KEY)
    signature = alipay_api.sign_text(alipay_api.signing_content(PARAMS, exclude=("sign", "sign_type")), APP_KEY)
    assert alipay_api.verify_params(PARAMS, signature, public, exclude_sign_type=True)
    assert not alipay_api.verify_params(PARAMS, signature, public)


def test_bare_base64_keys_from_the_console_are_accepted() -> None:
    public = alipay_api.public_key_pem(APP_KEY)
    bare = "".join(line for line in public.splitlines() if not line.startswith("-----"))
    assert alipay_api.verify_params(PARAMS, alipay_api.sign_params(PARAMS, APP_KEY), bare)


def test_interoperates_with_python_alipay_sdk() -> None:
    """Our signatures verify with the python-alipay-sdk, and the SDK's verify with ours."""
    sdk = AliPay(appid=PARAMS["app_id"], app_notify_url=None, app_private_key_string=APP_KEY,
                 alipay_public_key_string=alipay_api.public_key_pem(APP_KEY), sign_type="RSA2")
    ours = alipay_api.sign_params(PARAMS, APP_KEY)
    assert sdk._verify(alipay_api.signing_content(PARAMS), ours)
    theirs = sdk._sign(alipay_api.signing_content(PARAMS))
    assert alipay_api.verify_params(PARAMS, theirs, alipay_api.public_key_pem(APP_KEY))


def test_signed_node_text_is_the_exact_raw_text() -> None:
    node = '{"user_id":"2088000000000001", "open_id" : "0abc","nested":{"a":[1,{"b":"}"}]}}'
    raw = '{"alipay_system_oauth_token_response" : ' + node + ',"sign":"xyz"}'
    assert alipay_api.signed_node_text(raw, "alipay_system_oauth_token_response") == node
    assert alipay_api.signed_node_text(raw, "error_response") is None


def test_response_with_forged_signature_is_refused() -> None:
    from models.channels import Channel

    channel = Channel("alipay-x", "alipay_miniprogram", "2021000000000001", "", True, "http://127.0.0.1:9",
                      5.0, {"alipay_public_key": alipay_api.public_key_pem(GATEWAY_KEY)}, {},
                      {"app_private_key": APP_KEY})
    client = alipay_api.AlipayClient(channel)
    node = json.dumps({"user_id": "2088000000000001"}, separators=(",", ":"))
    good = alipay_api.sign_text(node, GATEWAY_KEY)
    raw = '{"alipay_system_oauth_token_response":' + node + ',"sign":"' + good + '"}'
    assert client.parse_response("alipay.system.oauth.token", raw) == {"user_id": "2088000000000001"}
    forged = raw.replace("2088000000000001", "2088000000000002")
    with pytest.raises(alipay_api.AlipayResponseUnverified):
        client.parse_response("alipay.system.oauth.token", forged)
    unsigned = '{"alipay_system_oauth_token_response":' + node + "}"
    with pytest.raises(alipay_api.AlipayResponseUnverified):
        client.parse_response("alipay.system.oauth.token", unsigned)


def test_channel_repr_hides_secrets() -> None:
    from models.channels import Channel

    channel = Channel("c", "wechat_miniprogram", "wx1", "", True, "http://x", 5.0, {}, {}, {"app_secret": "s3cr3t"})
    assert "s3cr3t" not in repr(channel)


def test_field_cipher_rotation_keeps_old_values_readable() -> None:
    old = FieldCipher([("k1", b"1" * 32)])
    sealed = old.encrypt("value", "ctx")
    both = FieldCipher([("k2", b"2" * 32), ("k1", b"1" * 32)])
    assert both.decrypt(sealed, "ctx") == "value" and both.needs_rotation(sealed)
    assert both.rotate(sealed, "ctx").startswith("k2.")
