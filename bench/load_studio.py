"""Load test of the studio on loopback: N concurrent clients each submit a job and follow it to the
end; every client must be served (202, then its images) or cleanly refused (429 with Retry-After),
and the gallery must hold exactly the images of the accepted jobs.

    python bench/load_studio.py [--clients 32] [--images 2] [--max-queued 8] [--weights PATH]

Prints Markdown (recorded in docs/studio.md): accepted/refused, throughput, latency percentiles.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np


def call(base: str, method: str, path: str, body=None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body is not None else None,
                                 method=method, headers={"Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            return r.status, dict(r.headers), json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read() or b"{}")


def client(base: str, k: int, images: int, out: list) -> None:
    start = time.perf_counter()
    status, headers, body = call(
        base, "POST", "/api/jobs", {"prompt": f"portrait photo of person {k}", "seed": k * 10, "n": images}
    )
    if status == 429:
        out.append({"client": k, "outcome": "refused", "retry_after": int(headers.get("retry-after", headers.get("Retry-After", 0))),
                    "seconds": time.perf_counter() - start})  # fmt: skip
        return
    if status != 202:
        out.append({"client": k, "outcome": f"error {status}", "detail": body})
        return
    while True:
        _, _, job = call(base, "GET", f"/api/jobs/{body['id']}")
        if job["status"] in ("done", "failed", "cancelled"):
            break
        time.sleep(0.5)  # a polite client; the studio's own page follows server-sent events instead
    out.append(
        {
            "client": k,
            "outcome": job["status"],
            "images": len(job["images"]),
            "seconds": time.perf_counter() - start,
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--images", type=int, default=2)
    ap.add_argument("--max-queued", type=int, default=8)
    ap.add_argument("--weights")
    args = ap.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    gallery = Path(tempfile.mkdtemp()) / "gallery"
    cmd = [sys.executable, "-m", "portraitist.cli", "serve", "--port", str(port), "--gallery", str(gallery),
           "--max-queued", str(args.max_queued)] + (["--weights", args.weights] if args.weights else [])  # fmt: skip
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                call(base, "GET", "/api/health")
                break
            except OSError:
                time.sleep(0.3)
        call(base, "POST", "/api/jobs", {"prompt": "warm-up", "n": 1})  # load the model before timing
        time.sleep(8)
        results: list[dict] = []
        threads = [
            threading.Thread(target=client, args=(base, k, args.images, results)) for k in range(args.clients)
        ]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        done = [r for r in results if r["outcome"] == "done"]
        refused = [r for r in results if r["outcome"] == "refused"]
        other = [r for r in results if r["outcome"] not in ("done", "refused")]
        _, _, listing = call(base, "GET", "/api/gallery?limit=1")
        expected = sum(r["images"] for r in done) + 1  # + the warm-up image
        lat = np.array([r["seconds"] for r in done])
        print(f"| clients | accepted | refused (429) | other | images | gallery holds | wall s | images/s | p50 s | p90 s | p99 s |\n"
              f"|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
              f"| {args.clients} | {len(done)} | {len(refused)} | {len(other)} | {expected - 1} | {listing['total'] - 1} | "
              f"{wall:.1f} | {(expected - 1) / wall:.2f} | {np.percentile(lat, 50):.2f} | {np.percentile(lat, 90):.2f} | "
              f"{np.percentile(lat, 99):.2f} |")  # fmt: skip
        print(
            f"refused clients were told to retry after {sorted({r['retry_after'] for r in refused})} s"
            if refused
            else "none refused"
        )
        assert not other and listing["total"] == expected, "an image was lost or a client got an error"
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
