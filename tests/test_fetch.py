"""`harness data fetch` against a loopback HTTP server (nothing else is reachable here)."""

from __future__ import annotations

import hashlib
import http.server
import threading
from functools import partial

import pytest

from harness.errors import DataError
from harness.fetch import Download, fetch


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_fetch_downloads_and_verifies(server, small_zip, tmp_path):
    root, url = server
    (root / "EuroSAT.zip").write_bytes(small_zip.read_bytes())
    digest = hashlib.sha256(small_zip.read_bytes()).hexdigest()
    dest = tmp_path / "cache"
    got = fetch(candidates=(Download("EuroSAT.zip", (f"{url}/EuroSAT.zip",), "sha256", digest),),
                dest_dir=dest, progress=False)
    assert got == dest / "EuroSAT.zip"
    assert got.read_bytes() == small_zip.read_bytes()
    assert [p.name for p in dest.iterdir()] == ["EuroSAT.zip"]  # no temporary left behind


def test_fetch_falls_back_to_the_next_mirror_and_md5(server, small_zip, tmp_path):
    root, url = server
    (root / "mirror.zip").write_bytes(small_zip.read_bytes())
    md5 = hashlib.md5(small_zip.read_bytes()).hexdigest()
    got = fetch(candidates=(Download("EuroSAT.zip", (f"{url}/missing.zip", f"{url}/mirror.zip"), "md5", md5),),
                dest_dir=tmp_path / "cache", progress=False)
    assert got.read_bytes() == small_zip.read_bytes()


def test_checksum_mismatch_keeps_nothing(server, small_zip, tmp_path):
    root, url = server
    (root / "EuroSAT.zip").write_bytes(small_zip.read_bytes())
    dest = tmp_path / "cache"
    with pytest.raises(DataError, match="does not match the published") as info:
        fetch(candidates=(Download("EuroSAT.zip", (f"{url}/EuroSAT.zip",), "sha256", "0" * 64),),
              dest_dir=dest, progress=False)
    assert "pass --data PATH" in str(info.value)
    assert list(dest.iterdir()) == []


def test_unreachable_host_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match=r"could not fetch EuroSAT: http://127\.0\.0\.1:9/x\.zip: .*HARNESS_EUROSAT"):
        fetch(candidates=(Download("EuroSAT.zip", ("http://127.0.0.1:9/x.zip",), "sha256", "0" * 64),),
              dest_dir=tmp_path, timeout=5, progress=False)


def test_unknown_source():
    with pytest.raises(DataError, match="unknown archive 'kaggle'"):
        fetch("kaggle", progress=False)
