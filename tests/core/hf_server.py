"""A loopback stand-in for the Hugging Face hub's resolve endpoint: real HTTP on 127.0.0.1 with
Range / If-Range support, an sha256 ETag (as the hub gives LFS files), and switches to cut the
connection part-way or to serve corrupt bytes. Used by the download tests; no internet needed.

``prefix`` is the repository's resolve URL; with ``redirect`` the hub answers as it does for LFS
files: 302 to its CDN (``/cdn/NAME``) with X-Linked-Etag (sha256) and X-Linked-Size, and the CDN
serves the bytes under an ETag of its own. Files keyed by an absolute path ("/owner/repo/...")
are served at that path, as raw.githubusercontent.com serves a repository file."""
import hashlib
import http.server
import re
import threading


class Hub:
    def __init__(self, files: dict[str, bytes], prefix: str = "/datasets/roneneldan/TinyStories/resolve/main/",
                 redirect: bool = False):
        self.files, self.prefix, self.redirect = files, prefix, redirect
        self.cut_after = None      # bytes sent before dropping the connection (once)
        self.corrupt = False       # serve flipped bytes under the right ETag
        self.requests = []         # (path, Range header) of every GET
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                hub.requests.append((self.path, self.headers.get("Range")))
                cdn = self.path.startswith("/cdn/")
                name = self.path[len("/cdn/"):] if cdn else (
                    self.path[len(hub.prefix):] if self.path.startswith(hub.prefix) else self.path)
                if name not in hub.files:
                    self.send_error(404)
                    return
                body = hub.files[name]
                etag = hashlib.sha256(body).hexdigest()
                if hub.redirect and not cdn and not name.startswith("/"):
                    self.send_response(302)
                    self.send_header("Location", f"/cdn/{name}")
                    self.send_header("X-Linked-Etag", f'"{etag}"')
                    self.send_header("X-Linked-Size", str(len(body)))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if cdn or name.startswith("/"):  # CDN / GitHub raw: an ETag that is not the content's sha256
                    etag = hashlib.sha256(b"not-the-content" + body).hexdigest()
                if hub.corrupt:
                    body = bytes([body[0] ^ 0xFF]) + body[1:]
                start, status = 0, 200
                rng = self.headers.get("Range")
                if rng and self.headers.get("If-Range", etag).strip('"') == etag:
                    m = re.match(r"bytes=(\d+)-", rng)
                    start = int(m.group(1))
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.end_headers()
                        return
                    status = 206
                chunk = body[start:]
                self.send_response(status)
                self.send_header("Content-Length", str(len(chunk)))
                self.send_header("ETag", f'"{etag}"')
                self.send_header("Accept-Ranges", "bytes")
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.end_headers()
                if hub.cut_after is not None:
                    n, hub.cut_after = hub.cut_after, None
                    self.wfile.write(chunk[:n])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(chunk)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
