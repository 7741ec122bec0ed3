"""The setup command: mirror copies with checksums, links, downloads (offline here), CLI errors."""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import urllib.error
from pathlib import Path

import pytest

from data_provider import fetch as fetch_mod
from data_provider.fetch import GROUPS, SOURCES, fetch, read_sums, resolve_names
from tests.helpers.mirror import mirror_dir
from tests.helpers.project import ROOT
from utils.errors import ConfigError, DataError

OFFLINE_ENV = {"https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
               "http_proxy": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}


@pytest.fixture(scope="module")
def mirror() -> Path:
    m = mirror_dir()
    if not (m / "SHA256SUMS").is_file():
        pytest.skip(f"dataset mirror not found at {m}; set TIMELLM_MIRROR")
    return m


def run_cli(*argv, env_extra=None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k.lower() != "no_proxy"}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "data_provider.fetch", *map(str, argv)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def assert_one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def test_sources_table_layout():
    assert set(GROUPS["all"]) == {"ETTh1", "ETTh2", "ETTm1", "ETTm2", "Weather", "ECL", "Traffic", "ILI",
                                  "Exchange", "m4-Yearly", "m4-Quarterly", "m4-Monthly", "m4-Weekly",
                                  "m4-Daily", "m4-Hourly"}
    paths = {name: [f.path for f in files if not f.optional] for name, files in SOURCES.items()}
    assert paths["ETTm2"] == ["ETT-small/ETTm2.csv"]
    assert paths["Weather"] == ["weather/weather.csv"]
    assert paths["ECL"] == ["electricity/electricity.csv"]
    assert paths["Traffic"] == ["traffic/traffic.csv"]
    assert paths["ILI"] == ["illness/national_illness.csv"]
    assert paths["Exchange"] == ["exchange_rate/exchange_rate.csv"]
    assert paths["m4-Weekly"] == ["m4/Weekly-train.csv", "m4/Weekly-test.csv"]
    for files in SOURCES.values():
        for f in files:
            assert f.optional or (f.url or "").startswith("https://")
            assert f.url is None or f.url.endswith(os.path.basename(f.path))
    assert SOURCES["ETTh1"][0].url == \
        "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/ETTh1.csv"
    assert SOURCES["m4-Daily"][1].url == \
        "https://raw.githubusercontent.com/Mcompetitions/M4-methods/master/Dataset/Test/Daily-test.csv"
    assert resolve_names(["m4", "etth1", "m4-Hourly"])[:2] == ["m4-Yearly", "m4-Quarterly"]
    assert resolve_names(["m4", "etth1", "m4-Hourly"])[-1] == "ETTh1"
    with pytest.raises(ConfigError, match="unknown dataset 'Solar'.*ETTh1"):
        resolve_names(["Solar"])


def test_known_digests_match_the_mirror(mirror):
    sums = read_sums(mirror)
    for files in SOURCES.values():
        for f in files:
            if f.sha256 is not None and f.path in sums:
                assert sums[f.path] == f.sha256


def test_copy_from_mirror_then_skip_then_link(mirror, tmp_path, capsys):
    dest = tmp_path / "dataset"
    done = fetch(["ILI", "m4-Hourly"], mirror=mirror, dest=dest)
    assert [p.relative_to(dest).as_posix() for p in done] == [
        "illness/national_illness.csv", "m4/Hourly-train.csv", "m4/Hourly-test.csv",
        "m4/submission-Naive2-Hourly.csv"]
    sums = read_sums(mirror)
    for p in done:
        assert hashlib.sha256(p.read_bytes()).hexdigest() == sums[p.relative_to(dest).as_posix()]
        assert not p.is_symlink()
    assert "copied" in capsys.readouterr().out
    fetch(["ILI"], mirror=mirror, dest=dest)
    assert "present, sha256 ok" in capsys.readouterr().out
    linked = fetch(["Exchange"], mirror=mirror, dest=tmp_path / "linked", link=True)
    assert linked[0].is_symlink() and linked[0].resolve() == (mirror / "exchange_rate/exchange_rate.csv").resolve()
    assert not list((tmp_path / "dataset").rglob("*.part"))


def test_present_file_that_differs_needs_force(mirror, tmp_path):
    dest = tmp_path / "dataset"
    target = dest / "illness" / "national_illness.csv"
    target.parent.mkdir(parents=True)
    target.write_text("date,OT\n")
    with pytest.raises(DataError, match="exists but its sha256 .* --force"):
        fetch(["ILI"], mirror=mirror, dest=dest, quiet=True)
    fetch(["ILI"], mirror=mirror, dest=dest, force=True, quiet=True)
    assert target.read_bytes() == (mirror / "illness" / "national_illness.csv").read_bytes()


def test_cli_dataset_missing_from_mirror(mirror, tmp_path):
    proc = run_cli("--datasets", "ETTh1", "ETTm1", "--mirror", mirror, "--dest", tmp_path / "d")
    line = assert_one_line_error(proc)
    assert "has no ETTm1 (ETT-small/ETTm1.csv)" in line
    assert "it has: ETTh1, ILI, Exchange, m4-Hourly" in line
    assert not (tmp_path / "d").exists()  # nothing copied before the check


def test_cli_checksum_mismatch_in_tampered_mirror(mirror, tmp_path):
    bad = tmp_path / "mirror"
    (bad / "ETT-small").mkdir(parents=True)
    shutil.copy(mirror / "SHA256SUMS", bad / "SHA256SUMS")
    data = (mirror / "ETT-small" / "ETTh1.csv").read_bytes()
    (bad / "ETT-small" / "ETTh1.csv").write_bytes(data.replace(b"30.5310001373291", b"30.5310001373292", 1))
    actual = hashlib.sha256((bad / "ETT-small" / "ETTh1.csv").read_bytes()).hexdigest()
    expected = read_sums(mirror)["ETT-small/ETTh1.csv"]
    for link in ([], ["--link"]):
        proc = run_cli("--datasets", "ETTh1", "--mirror", bad, "--dest", tmp_path / "d", *link)
        line = assert_one_line_error(proc)
        assert "checksum mismatch for ETT-small/ETTh1.csv" in line
        assert expected in line and actual in line
        assert not any(p.is_file() or p.is_symlink() for p in (tmp_path / "d").rglob("*"))


def test_cli_unknown_dataset_and_missing_mirror(tmp_path):
    line = assert_one_line_error(run_cli("--datasets", "Solar", "--dest", tmp_path))
    assert "unknown dataset 'Solar'" in line and "m4-Hourly" in line
    line = assert_one_line_error(run_cli("--datasets", "ETTh1", "--mirror", tmp_path / "nope",
                                         "--dest", tmp_path))
    assert "does not exist" in line
    (tmp_path / "m").mkdir()
    line = assert_one_line_error(run_cli("--datasets", "ETTh1", "--mirror", tmp_path / "m",
                                         "--dest", tmp_path))
    assert "no SHA256SUMS" in line


def test_cli_offline_download_names_mirror_option(tmp_path):
    proc = run_cli("--datasets", "ETTm2", "--dest", tmp_path / "d", env_extra=OFFLINE_ENV)
    line = assert_one_line_error(proc)
    assert "cannot download ETTm2 from https://raw.githubusercontent.com/zhouhaoyi/ETDataset" in line
    assert "--mirror DIR" in line
    assert not any(p.is_file() for p in (tmp_path / "d").rglob("*"))


class FakeResponse(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}


def test_download_in_process(mirror, tmp_path, monkeypatch, capsys):
    data = (mirror / "ETT-small" / "ETTh1.csv").read_bytes()
    seen = []

    def fake_urlopen(url, timeout=None):
        seen.append(url)
        return FakeResponse(data)

    monkeypatch.setattr(fetch_mod.urllib.request, "urlopen", fake_urlopen)
    dest = tmp_path / "d"
    assert fetch_mod.main(["--datasets", "ETTh1", "--dest", str(dest), "--quiet"]) == 0
    assert (dest / "ETT-small" / "ETTh1.csv").read_bytes() == data
    assert seen == [SOURCES["ETTh1"][0].url]
    assert fetch_mod.main(["--datasets", "ETTh1", "--dest", str(dest), "--quiet"]) == 0
    assert len(seen) == 1  # present and verified: skipped

    # a corrupted download is refused and leaves nothing behind
    monkeypatch.setattr(fetch_mod.urllib.request, "urlopen", lambda url, timeout=None: FakeResponse(b"x"))
    assert fetch_mod.main(["--datasets", "ETTh1", "--dest", str(tmp_path / "e"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "checksum mismatch for ETT-small/ETTh1.csv" in err[0]
    assert not any(p.is_file() for p in (tmp_path / "e").rglob("*"))

    def offline(url, timeout=None):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(fetch_mod.urllib.request, "urlopen", offline)
    assert fetch_mod.main(["--datasets", "Weather", "--dest", str(tmp_path / "f")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "huggingface.co" in err[0] and "--mirror DIR" in err[0]


def etth1_mirror(mirror: Path, root: Path, sums: bytes) -> Path:
    """A mirror holding ETTh1 and a SHA256SUMS file of the given bytes."""
    (root / "ETT-small").mkdir(parents=True)
    shutil.copy(mirror / "ETT-small" / "ETTh1.csv", root / "ETT-small" / "ETTh1.csv")
    (root / "SHA256SUMS").write_bytes(sums)
    return root


@pytest.mark.parametrize("encoding, bom", [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"),
                                           ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")])
def test_checksum_file_in_utf8_or_utf16_with_a_bom(mirror, tmp_path, encoding, bom):
    # PowerShell's `>` writes UTF-16 LE with a byte-order mark and CRLF line ends
    text = (mirror / "SHA256SUMS").read_text(encoding="utf-8").replace("\n", "\r\n")
    m = etth1_mirror(mirror, tmp_path / "m", bom + text.encode(encoding))
    assert read_sums(m) == read_sums(mirror)
    dest = tmp_path / "d"
    assert fetch_mod.main(["--datasets", "ETTh1", "--mirror", str(m), "--dest", str(dest), "--quiet"]) == 0
    assert (dest / "ETT-small" / "ETTh1.csv").read_bytes() == (mirror / "ETT-small" / "ETTh1.csv").read_bytes()


def test_cli_checksum_file_in_another_encoding(mirror, tmp_path):
    text = (mirror / "SHA256SUMS").read_text(encoding="utf-8")
    for i, sums in enumerate([text.encode("utf-16-le"),              # UTF-16 without a byte-order mark
                              b"\xe9t\xe9 " + text.encode("latin-1")]):  # Latin-1
        m = etth1_mirror(mirror, tmp_path / f"m{i}", sums)
        line = assert_one_line_error(run_cli("--datasets", "ETTh1", "--mirror", m, "--dest", tmp_path / "d"))
        assert line.startswith(f"error: {m / 'SHA256SUMS'}: neither UTF-8 nor UTF-16 with a byte-order mark")
        assert not (tmp_path / "d").exists()


def test_cli_dest_that_is_a_file(mirror, tmp_path):
    (tmp_path / "afile").write_text("keep me\n")
    line = assert_one_line_error(run_cli("--datasets", "ETTh1", "--mirror", mirror, "--dest", tmp_path / "afile"))
    assert line == f"error: --dest {tmp_path / 'afile'} is a file; give a folder"
    line = assert_one_line_error(run_cli("--datasets", "ETTh1", "--mirror", mirror,
                                         "--dest", tmp_path / "afile" / "sub"))
    assert line == f"error: --dest {tmp_path / 'afile' / 'sub'} lies under a file, {tmp_path / 'afile'}; give a folder"
    assert (tmp_path / "afile").read_text() == "keep me\n"
    assert list(tmp_path.iterdir()) == [tmp_path / "afile"]
