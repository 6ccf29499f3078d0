#!/usr/bin/env python3
"""A PCCS stand-in for tests: serves a SgxV30QuoteCollateral (SCALE file) at the PCCS v4 paths.

  GET <prefix>/pckcrl?ca=processor   body: PCK CRL (hex of DER); SGX-PCK-CRL-Issuer-Chain header
  GET <prefix>/rootcacrl             body: root CA CRL (hex of DER)
  GET <prefix>/tcb?fmspc=<hex>       {"tcbInfo":<text>,"signature":"<hex>"}; TCB-Info-Issuer-Chain
  GET <prefix>/qe/identity           {"enclaveIdentity":<text>,"signature":"<hex>"};
                                     SGX-Enclave-Identity-Issuer-Chain
Issuer chains are URL-encoded, as a PCCS sends them. --mode changes the answers: ok, 404 (every
path), garbage (every body is junk), other-fmspc (the TCB info names another FMSPC).
Binds 127.0.0.1 on an OS-picked port (HTTPS with --tls-cert/--tls-key), prints "port N" and exits by itself after --lifetime s.
"""
import argparse
import http.server
import ssl
import sys
import threading
import urllib.parse

NAMES = ["pck_crl_issuer_chain", "root_ca_crl", "pck_crl", "tcb_info_issuer_chain", "tcb_info",
         "tcb_info_signature", "qe_identity_issuer_chain", "qe_identity", "qe_identity_signature"]
PREFIX = "/sgx/certification/v4"


def decode_collateral(data):
    pos, fields = 0, {}
    for name in NAMES:
        mode = data[pos] & 3
        if mode == 0:
            n, pos = data[pos] >> 2, pos + 1
        elif mode == 1:
            n, pos = int.from_bytes(data[pos:pos + 2], "little") >> 2, pos + 2
        elif mode == 2:
            n, pos = int.from_bytes(data[pos:pos + 4], "little") >> 2, pos + 4
        else:
            raise ValueError("field too large")
        fields[name], pos = data[pos:pos + n], pos + n
    return fields


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--collateral", required=True)
    ap.add_argument("--mode", default="ok", choices=["ok", "404", "garbage", "other-fmspc"])
    ap.add_argument("--lifetime", type=float, default=120)
    ap.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate (and --tls-key)")
    ap.add_argument("--tls-key")
    args = ap.parse_args()
    c = decode_collateral(open(args.collateral, "rb").read())
    tcb_info = c["tcb_info"]
    if args.mode == "other-fmspc":
        tcb_info = tcb_info.replace(b'"fmspc":"00A067110000"', b'"fmspc":"00906ED50000"')
    q = lambda b: urllib.parse.quote(b.decode(), safe="")
    routes = {
        PREFIX + "/pckcrl?ca=processor": (c["pck_crl"], {"SGX-PCK-CRL-Issuer-Chain": q(c["pck_crl_issuer_chain"])}),
        PREFIX + "/rootcacrl": (c["root_ca_crl"], {}),
        PREFIX + "/tcb?fmspc=00A067110000": (
            b'{"tcbInfo":' + tcb_info + b',"signature":"' + c["tcb_info_signature"].hex().encode() + b'"}',
            {"TCB-Info-Issuer-Chain": q(c["tcb_info_issuer_chain"])}),
        PREFIX + "/qe/identity": (
            b'{"enclaveIdentity":' + c["qe_identity"] + b',"signature":"' + c["qe_identity_signature"].hex().encode() + b'"}',
            {"SGX-Enclave-Identity-Issuer-Chain": q(c["qe_identity_issuer_chain"])}),
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            route = routes.get(self.path)
            if route is None or args.mode == "404":
                self.send_error(404, "no such collateral")
                return
            body, headers = route
            if args.mode == "garbage":
                body = b"\x00garbage, not collateral\xff"
            self.send_response(200)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *a):
            sys.stderr.write("pccs-standin: " + (fmt % a) + "\n")

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Timer(args.lifetime, srv.shutdown).start()
    print("port %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
