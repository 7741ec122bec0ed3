"""Setup step: put the benchmark data files under ``dataset/``.

    python -m data_provider.fetch --datasets ETTh1 ILI m4-Hourly --mirror ../shared/datasets
    python -m data_provider.fetch --datasets all            # download from the official sources

With ``--mirror DIR`` the files are copied (or symlinked with ``--link``) from a folder laid out
like ``dataset/`` that carries a ``SHA256SUMS`` file (UTF-8, or UTF-16 with a byte-order mark as
PowerShell writes it), and every file is verified against it.
Without a mirror they are downloaded from the URLs in :data:`SOURCES` (atomic writes: a temporary
file is renamed into place only when complete). Files already present that verify are skipped;
a present file that does not verify is left alone unless ``--force`` is given.
Every failure is one line on stderr (``error: ...``) and exit status 2.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from data_provider.datasets import DATASETS, M4_PATTERNS, SourceFile
from utils.errors import ConfigError, DataError, exit_status, unknown_name

# Fetchable name -> its files: every dataset with a file of its own, and M4 per pattern.
SOURCES: dict[str, tuple[SourceFile, ...]] = {
    **{name: info.sources for name, info in DATASETS.items() if info.file is not None},
    **{f"m4-{name}": p.sources for name, p in M4_PATTERNS.items()},
}

GROUPS: dict[str, tuple[str, ...]] = {
    "all": tuple(SOURCES),
    "m4": tuple(f"m4-{p}" for p in M4_PATTERNS),
}


def setup_command(name: str) -> str:
    """The command that installs dataset ``name`` (as printed in missing-file errors)."""
    return f"python -m data_provider.fetch --datasets {name} --mirror DIR"


def dataset_for_file(data_path: str) -> str | None:
    """The fetchable dataset whose file has the base name of ``data_path`` (e.g. ECL for
    ``electricity.csv``), or None."""
    base = os.path.basename(str(data_path))
    for name, files in SOURCES.items():
        if any(os.path.basename(f.path) == base for f in files):
            return name
    return None


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (through a symlink)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_sums(mirror: Path) -> dict[str, str]:
    """Parse ``<mirror>/SHA256SUMS`` (``<hex>  ./rel/path`` per line) into {rel/path: hex}."""
    sums_file = mirror / "SHA256SUMS"
    if not sums_file.is_file():
        raise DataError(f"mirror {mirror} has no SHA256SUMS file; cannot verify its files")
    sums: dict[str, str] = {}
    for line in _sums_text(sums_file).splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) == 2:
            rel = parts[1].lstrip("*")
            rel = rel[2:] if rel.startswith("./") else rel
            sums[rel] = parts[0].lower()
    return sums


def _sums_text(sums_file: Path) -> str:
    """A checksum file's text: UTF-8 (with or without a byte-order mark) or UTF-16 with one
    (what PowerShell's ``>`` writes)."""
    raw = sums_file.read_bytes()
    encoding = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        text = "\x00"
    if "\x00" in text:  # also UTF-16 without a byte-order mark, which decodes as UTF-8 with NULs
        raise DataError(f"{sums_file}: neither UTF-8 nor UTF-16 with a byte-order mark; write it again "
                        "as UTF-8 (e.g. sha256sum ... > SHA256SUMS)")
    return text


def resolve_names(names: list[str]) -> list[str]:
    """Expand ``all`` / ``m4`` and check names (case-insensitive), keeping order, no repeats."""
    lower = {n.lower(): n for n in [*SOURCES, *GROUPS]}
    out: list[str] = []
    for raw in names:
        key = lower.get(raw.lower())
        if key is None:
            raise unknown_name("dataset", raw, [*SOURCES, *GROUPS])
        for n in GROUPS.get(key, (key,)):
            if n not in out:
                out.append(n)
    return out


def _mismatch(path: str, where: str, expected: str, actual: str) -> DataError:
    return DataError(f"checksum mismatch for {path} ({where}): expected sha256 {expected}, "
                     f"the file has {actual}")


def _present_ok(dst: Path, expected: str | None, force: bool) -> bool:
    """True when ``dst`` exists and verifies (or exists and nothing is known to verify it)."""
    if not (dst.exists() or dst.is_symlink()):
        return False
    if not dst.exists():  # dangling symlink
        if force:
            return False
        raise DataError(f"{dst} is a broken symlink; delete it or pass --force")
    if expected is None:
        return not force
    actual = sha256_of(dst)
    if actual == expected:
        return True
    if force:
        return False
    raise DataError(f"{dst} exists but its sha256 {actual} is not the expected {expected}; "
                    "delete it or pass --force to replace it")


def _temp_beside(dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".part", dir=dst.parent)
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; data files are ordinary readable files
    return Path(tmp)


def _install_from_mirror(f: SourceFile, mirror: Path, sums: dict[str, str], dest: Path,
                         link: bool, force: bool) -> str:
    src = mirror / f.path
    expected = sums.get(f.path)
    if expected is None:
        raise DataError(f"{f.path} is not listed in {mirror / 'SHA256SUMS'}; cannot verify it")
    dst = dest / f.path
    if _present_ok(dst, expected, force):
        return "present, sha256 ok"
    tmp = _temp_beside(dst)
    try:
        if link:
            actual = sha256_of(src)
            if actual != expected:
                raise _mismatch(f.path, f"mirror {mirror}", expected, actual)
            tmp.unlink()
            os.symlink(src.resolve(), tmp)
        else:
            shutil.copyfile(src, tmp)
            actual = sha256_of(tmp)
            if actual != expected:
                raise _mismatch(f.path, f"mirror {mirror}", expected, actual)
        os.replace(tmp, dst)
    finally:
        if tmp.exists() or tmp.is_symlink():
            tmp.unlink()
    return "linked" if link else "copied"


def _download(f: SourceFile, name: str, dest: Path, force: bool, quiet: bool) -> str:
    dst = dest / f.path
    if _present_ok(dst, f.sha256, force):
        return "present" + (", sha256 ok" if f.sha256 else "")
    tmp = _temp_beside(dst)
    try:
        try:
            with urllib.request.urlopen(f.url, timeout=60) as resp, open(tmp, "wb") as out:
                total = int(resp.headers.get("Content-Length") or 0) or None
                with tqdm(total=total, unit="B", unit_scale=True, desc=f.path,
                          disable=quiet, file=sys.stdout) as bar:
                    for chunk in iter(lambda: resp.read(1 << 20), b""):
                        out.write(chunk)
                        bar.update(len(chunk))
        except (urllib.error.URLError, OSError, ValueError) as e:
            reason = getattr(e, "reason", None) or e
            raise DataError(f"cannot download {name} from {f.url} ({reason}); if this machine is "
                            "offline, copy the files from a local mirror with --mirror DIR") from None
        actual = sha256_of(tmp)
        if f.sha256 is not None and actual != f.sha256:
            raise _mismatch(f.path, f"downloaded from {f.url}", f.sha256, actual)
        os.replace(tmp, dst)
    finally:
        if tmp.exists():
            tmp.unlink()
    return f"downloaded, sha256 {actual}"


def _check_dest(dest: Path) -> None:
    """Refuse a ``--dest`` that is a file, or lies under one, before anything is fetched."""
    for folder in (dest, *dest.parents):
        if folder.is_dir():
            return
        if folder.exists() or folder.is_symlink():
            what = "a file" if folder.exists() else "a broken symlink"
            where = f"is {what}" if folder == dest else f"lies under {what}, {folder}"
            raise ConfigError(f"--dest {dest} {where}; give a folder")


def _mirror_has(mirror: Path, name: str) -> bool:
    return all((mirror / f.path).is_file() for f in SOURCES[name] if not f.optional)


def fetch(datasets: list[str], mirror: str | os.PathLike | None = None,
          dest: str | os.PathLike = "dataset", link: bool = False, force: bool = False,
          quiet: bool = False) -> list[Path]:
    """Install the files of ``datasets`` under ``dest``; returns the paths installed or present.

    Raises DataError / ConfigError (one-line messages) on any problem, before copying anything
    when a requested dataset is missing from the mirror.
    """
    names = resolve_names(list(datasets))
    dest = Path(dest)
    _check_dest(dest)
    say = (lambda *_: None) if quiet else print
    done: list[Path] = []
    if mirror is not None:
        mirror = Path(mirror)
        if not mirror.is_dir():
            raise DataError(f"mirror folder {mirror} does not exist")
        sums = read_sums(mirror)
        for name in names:
            if not _mirror_has(mirror, name):
                has = [n for n in SOURCES if _mirror_has(mirror, n)]
                raise DataError(f"mirror {mirror} has no {name} "
                                f"({', '.join(f.path for f in SOURCES[name] if not f.optional)}); "
                                f"it has: {', '.join(has) or 'nothing usable'}")
        for name in names:
            for f in SOURCES[name]:
                if f.optional and not (mirror / f.path).is_file():
                    continue
                status = _install_from_mirror(f, mirror, sums, dest, link, force)
                say(f"{name}: {dest / f.path} {status}")
                done.append(dest / f.path)
    else:
        for name in names:
            for f in SOURCES[name]:
                if f.url is None:
                    continue
                status = _download(f, name, dest, force, quiet)
                say(f"{name}: {dest / f.path} {status}")
                done.append(dest / f.path)
    return done


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m data_provider.fetch",
        description="Copy (from a mirror) or download the benchmark datasets into dataset/.")
    p.add_argument("--datasets", nargs="+", required=True, metavar="NAME",
                   help=f"any of: {', '.join([*SOURCES, *GROUPS])}")
    p.add_argument("--mirror", default=None, metavar="DIR",
                   help="folder laid out like dataset/ with a SHA256SUMS file; copy from it instead "
                        "of downloading")
    p.add_argument("--dest", default="dataset", help="target folder (default: dataset)")
    p.add_argument("--link", action="store_true", help="symlink mirror files instead of copying")
    p.add_argument("--force", action="store_true",
                   help="replace present files that do not verify")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return exit_status(lambda: fetch(args.datasets, mirror=args.mirror, dest=args.dest,
                                     link=args.link, force=args.force, quiet=args.quiet))


if __name__ == "__main__":
    sys.exit(main())
