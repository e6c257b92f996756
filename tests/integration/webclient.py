"""A small browser-like HTTP client for the admin role's tests.

  admin_ferry(make_ferry, tmp_path, tls=True, **conf)
        a started server with admin_listen (HTTPS with a test CA, or plain
        HTTP on loopback with tls=False), admin_users = admin@example.test
        and the accounts admin@, postmaster@, alice@ and bob@example.test
        plus postmaster@other.test; attributes admin_port, ca, scheme.
  Web(srv)   a session: get/post with a cookie jar that honours Path,
             Max-Age=0 and Secure; login(user, password); csrf(page) reads
             the form token; every answer is a Resp (status, headers, the
             raw Set-Cookie lines, text).

http.client only: no redirects are followed unless asked, so tests see
the server's own answers.
"""

import http.client
import re
import ssl
import urllib.parse

from conftest import PASSWORD, free_port, tcp_listening, wait_until

ADMIN = "admin@example.test"
POSTMASTER = "postmaster@example.test"
OTHER_POSTMASTER = "postmaster@other.test"


def admin_ferry(make_ferry, tmp_path, tls=True, name=None, **overrides):
    conf = {"admin_listen": f"127.0.0.1:{free_port()}",
            "admin_users": ADMIN}
    ca = None
    if tls:
        from certs import server_certs
        ca, cert = server_certs(tmp_path / f"certs-{name or 'admin'}")
        conf.update({"tls_cert": cert.cert, "tls_key": cert.key})
    conf.update(overrides)
    srv = make_ferry(conf, name=name)
    srv.add_user(ADMIN)
    srv.add_user(POSTMASTER)
    srv.add_domain("other.test")
    srv.add_user(OTHER_POSTMASTER)
    srv.add_user("carol@other.test")
    srv.admin_port = int(conf["admin_listen"].rsplit(":", 1)[1])
    srv.ca = ca
    srv.scheme = "https" if tls else "http"
    wait_until(lambda: tcp_listening(srv.admin_port), 10,
               what="the admin listener")
    return srv


class Resp:
    def __init__(self, r):
        self.status = r.status
        self.headers = {k.lower(): v for k, v in r.getheaders()}
        self.cookies = r.msg.get_all("Set-Cookie") or []
        self.body = r.read()
        self.text = self.body.decode("utf-8", "replace")

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return f"<Resp {self.status} {self.text[:200]!r}>"


class Web:
    def __init__(self, srv, host="127.0.0.1", port=None):
        self.srv = srv
        self.host = host
        self.port = port or srv.admin_port
        self.tls = srv.scheme == "https"
        self.jar = {}
        self.extra_headers = {}

    def conn(self, timeout=20):
        if self.tls:
            ctx = ssl.create_default_context(cafile=str(self.srv.ca.cert))
            return http.client.HTTPSConnection(self.host, self.port,
                                               timeout=timeout, context=ctx)
        return http.client.HTTPConnection(self.host, self.port,
                                          timeout=timeout)

    def _store_cookies(self, resp):
        for line in resp.cookies:
            parts = [p.strip() for p in line.split(";")]
            name, _, value = parts[0].partition("=")
            attrs = {p.split("=", 1)[0].lower(): (p.split("=", 1) + [""])[1]
                     for p in parts[1:]}
            if attrs.get("max-age") == "0":
                self.jar.pop(name, None)
            else:
                self.jar[name] = value

    def request(self, method, path, body=None, headers=None, follow=False):
        h = {"Host": f"{self.host}:{self.port}"}
        if self.jar:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        h.update(self.extra_headers)
        if body is not None and not isinstance(body, (bytes, str)):
            body = urllib.parse.urlencode(body)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        h.update(headers or {})
        c = self.conn()
        try:
            c.request(method, path, body=body, headers=h)
            resp = Resp(c.getresponse())
        finally:
            c.close()
        self._store_cookies(resp)
        if follow and resp.status in (301, 302, 303):
            return self.get(resp.header("Location"), follow=True)
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, fields, **kw):
        return self.request("POST", path, body=fields, **kw)

    @staticmethod
    def field(page, name):
        m = re.search(r'name="%s" value="([^"]*)"' % re.escape(name),
                      page.text)
        return m.group(1) if m else None

    def csrf(self, path="/"):
        return self.field(self.get(path), "csrf")

    def login(self, user, password=PASSWORD, next_path=None):
        page = self.get("/login" + (f"?next={urllib.parse.quote(next_path)}"
                                    if next_path else ""))
        assert page.status == 200, page
        return self.post("/login", {
            "login_token": self.field(page, "login_token"),
            "next": self.field(page, "next") or "/",
            "user": user, "password": password})
