"""CloudStack request signing: the reference's vectors, the `~` and `*` pitfalls, edge cases."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from urllib.parse import quote

import pytest
from cloudstackfake import API_KEY, SECRET_KEY, CloudStackFake, java_urlencode
from hypothesis import given
from hypothesis import strategies as st
from kshell_plugins.idcf.signing import encode_value, sign, string_to_sign

DOC_KEY = "miVr6X7u6bN_sdahOBpjNejPgEsT35eXq-jB8CG20YI3yaxXcgpyuaIRmFI_EJTVwZ0nUkkJbPmY3y2bciKwFQ"
DOC_SECRET = (
    "AdpTvsQMZwv9MNvfqDcQhWSL9pHQvq7z13CFP2SU1iToDkkM3d8iZciWEKsGREhMtV9yLVMxmbbJJgrXo8O5jg"
)


def test_official_cloudstack_documentation_vector():
    params = {
        "apiKey": DOC_KEY, "command": "deployVirtualMachine", "serviceOfferingId": "1",
        "diskOfferingId": "1", "templateId": "2", "zoneId": "4",
    }  # fmt: skip
    assert string_to_sign(params) == (
        f"apikey={DOC_KEY.lower()}&command=deployvirtualmachine&diskofferingid=1"
        "&serviceofferingid=1&templateid=2&zoneid=4"
    )
    assert sign(params, DOC_SECRET) == "Lxx1DM40AjcXU/caiK8RAP0O1hU="


def test_cs_vectors_simple_and_unicode():
    simple = {"apiKey": "foo", "command": "listVirtualMachines", "listall": "true",
              "response": "json"}  # fmt: skip
    assert string_to_sign(simple) == (
        "apikey=foo&command=listvirtualmachines&listall=true&response=json"
    )
    assert sign(simple, "bar") == "B0d6hBsZTcFVCiioSxzwKA9Pke8="
    uni = {**simple, "listall": "1", "unicode_param": "éèààû"}
    assert string_to_sign(uni).endswith("&unicode_param=%c3%a9%c3%a8%c3%a0%c3%a0%c3%bb")
    assert sign(uni, "bar") == "gABU/KFJKD3FLAgKDuxQoryu4sA="


TILDE = {"apiKey": "foo", "command": "registerIso", "response": "json",
         "url": "http://example.com/~user/coreos.iso", "name": "a b+c*d"}  # fmt: skip


def test_tilde_vector_is_signed_as_the_server_verifies_it():
    assert string_to_sign(TILDE) == (
        "apikey=foo&command=registeriso&name=a%20b%2bc*d&response=json"
        "&url=http%3a%2f%2fexample.com%2f%7euser%2fcoreos.iso"
    )
    assert sign(TILDE, "bar") == "H2v/dIWQ1Er2XS8XeV96mqynxxE="
    assert sign(TILDE, "bar") != "MGeuF7mPvDILClcSJCF4tEEPs64="  # `~` left as is: rejected


@pytest.mark.parametrize(
    "value, encoded",
    [
        ("a b", "a%20b"), ("a+b", "a%2Bb"), ("a*b", "a*b"), ("~", "%7E"), ("/", "%2F"),
        ("=", "%3D"), ("&", "%26"), (",", "%2C"), (":", "%3A"), ("._-", "._-"),
        ("é", "%C3%A9"), ("日本", "%E6%97%A5%E6%9C%AC"), ("", ""),
    ],
)  # fmt: skip
def test_values_are_encoded_like_java_urlencoder(value, encoded):
    assert encode_value(value) == encoded


def test_names_stay_literal_and_sort_case_sensitively():
    text = string_to_sign({"iptonetworklist[0].ip": "10.1.1.5", "B": "x", "a": "y",
                           "signature": "ignored", "command": "c"})  # fmt: skip
    assert text == "b=x&a=y&command=c&iptonetworklist[0].ip=10.1.1.5"


@given(st.text())
def test_plugin_encoder_agrees_with_the_stand_ins_independent_one(value):
    assert encode_value(value) == java_urlencode(value)


def test_the_stand_in_rejects_the_tilde_mistake_and_accepts_the_right_signature():
    fake = CloudStackFake().start()
    try:
        params = {"apikey": API_KEY, "command": "listIsos", "response": "json",
                  "name": "http://example.com/~u/x.iso"}  # fmt: skip

        def ask(signature: str) -> int:
            query = urllib.parse.urlencode({**params, "signature": signature})
            try:
                with urllib.request.urlopen(f"{fake.url}?{query}", timeout=5) as r:
                    json.load(r)
                    return r.status
            except urllib.error.HTTPError as e:
                body = json.load(e)
                assert body["listisosresponse"]["errorcode"] == 401
                return e.code

        assert ask(sign(params, SECRET_KEY)) == 200
        wrong = "&".join(
            f"{k}={quote(params[k], safe='*')}" for k in sorted(params)
        ).lower()  # Python's quote: `~` stays literal
        import base64
        import hashlib
        import hmac

        bad = base64.b64encode(
            hmac.new(SECRET_KEY.encode(), wrong.encode(), hashlib.sha1).digest()
        ).decode()
        assert ask(bad) == 401
    finally:
        fake.stop()
