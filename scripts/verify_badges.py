#!/usr/bin/env python3
"""Verifies an academy certificate with tools that are not ours.

    verify_badges.py BASE_URL TENANT_SLUG CERTIFICATE_NUMBER STUDENT_EMAIL valid|revoked

BASE_URL is the API's origin (http://127.0.0.1:3000 locally). The Open Badges 3.0 credential
(a VC-JWT) is fetched from the certificate's public route and verified with openbadgeslib's
OB3Verifier (scripts/requirements-test.txt pins it), which checks the EdDSA signature under the
clinic's published key, the credential's structure and registered claims, and its revocation
through the clinic's Bitstring Status List (itself a signed credential, checked under the same
key). The key is read from the clinic's issuer profile (a JWK) and turned into PEM with
`cryptography`. The student's hashed email identity and the PDF's SHA-256 (from the
verification page) are checked here too.

Exits 0 when the outcome is the one expected: `valid` must verify; `revoked` must be refused by
the verifier's status check (and nothing else). tests/suite/academy_certs.rs runs it.
"""

import base64
import hashlib
import json
import sys
import urllib.request

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from openbadgeslib.ob3.verifier import OB3Verifier, OB3VerificationError
from openbadgeslib.util import download_file


def fetch(url: str) -> bytes:
    # A local host is plain HTTP on a loopback address: allowed explicitly, for this check only.
    return download_file(url, allow_insecure=True, allow_private=True)


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def main() -> int:
    if len(sys.argv) != 6 or sys.argv[5] not in ("valid", "revoked"):
        print(__doc__, file=sys.stderr)
        return 2
    base, slug, number, email, expect = sys.argv[1:]
    public = f"{base.rstrip('/')}/v1/public/{slug}"
    token = fetch(f"{public}/certificates/{number}/credential").decode().strip()
    profile = json.loads(fetch(f"{public}/academy/issuer"))
    jwk = profile["verificationMethod"][0]["publicKeyJwk"]
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519", jwk
    pem = Ed25519PublicKey.from_public_bytes(b64url(jwk["x"])).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    # The PDF: its bytes hash to what the verification page says.
    page = json.loads(fetch(f"{public}/certificates/{number}"))
    pdf = fetch(page["pdf_url"])
    if hashlib.sha256(pdf).hexdigest() != page["file_sha256"]:
        print("FAIL: the PDF does not hash to the page's file_sha256", file=sys.stderr)
        return 1
    print(f"pdf sha256 ok ({len(pdf)} bytes); page says {page['status']}")

    verifier = OB3Verifier(pubkey_pem=pem)
    try:
        credential = verifier.verify(token, check_status=True, verify_status_list=True, download=fetch)
    except OB3VerificationError as exc:
        if expect == "revoked" and "status 'revocation' is set" in str(exc):
            if page["status"] != "revoked":
                print("FAIL: the verifier says revoked but the page does not", file=sys.stderr)
                return 1
            print(f"REVOKED as expected: {exc}")
            return 0
        print(f"FAIL ({expect} expected): {exc}", file=sys.stderr)
        return 1
    if expect == "revoked":
        print("FAIL: a revoked credential verified", file=sys.stderr)
        return 1
    # The subject is the student by a salted hash of their email (OB 3.0 IdentityObject).
    claims = json.loads(b64url(token.split(".")[1]))
    identity = claims["credentialSubject"]["identifier"][0]
    digest = hashlib.sha256((email + identity["salt"]).encode()).hexdigest()
    if identity["identityHash"] != f"sha256${digest}":
        print("FAIL: the identity hash is not the student's email", file=sys.stderr)
        return 1
    # And the same credential with one claim changed does not verify: the signature covers it.
    head, body, signature = token.split(".")
    forged_claims = dict(claims, name=claims["name"] + " (with honours)")
    forged_body = base64.urlsafe_b64encode(json.dumps(forged_claims).encode()).decode().rstrip("=")
    try:
        verifier.verify(f"{head}.{forged_body}.{signature}", check_status=False)
        print("FAIL: a forged credential verified", file=sys.stderr)
        return 1
    except OB3VerificationError as exc:
        print(f"a forged copy is refused: {exc}")
    print(f"VALID: {claims['name']} issued by {credential.issuer.name} ({credential.issuer.id});"
          f" achievement {claims['credentialSubject']['achievement']['name']!r}"
          "; status list checked and signed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
