"""DKIM test keys made with openssl, for the tests that publish a key in
the fake DNS and sign or seal with python3-dkim."""

import base64
import subprocess


def rsa_key_pair(directory, bits=2048):
    """A new RSA key in directory/rsa.pem: (PEM bytes, the DKIM TXT
    record that publishes its public half)."""
    pem = directory / "rsa.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    f"rsa_keygen_bits:{bits}", "-out", str(pem)], check=True,
                   capture_output=True)
    pub = subprocess.run(["openssl", "pkey", "-in", str(pem), "-pubout",
                          "-outform", "DER"], check=True,
                         capture_output=True).stdout
    return pem.read_bytes(), "v=DKIM1; k=rsa; p=" + base64.b64encode(
        pub).decode()
