"""docx → PDF with LibreOffice headless, hardened the way the measurements ask
(research/reliability_security.md §0 item 9 and §1.6, performance_baselines.md §7).

* LibreOffice exits 0 when it produced nothing (corrupt or missing input, unwritable folder,
  two conversions on one profile): success is judged only by the output — the file exists,
  starts with ``%PDF-`` and has at least the expected number of pages.
* Every conversion gets a fresh private profile, passed as an *absolute* ``file:///`` URL (a
  relative one made soffice hang forever at 0 % CPU), and runs under a timeout in its own
  process group, which is killed whole on timeout so no soffice.bin is left behind.
* The profile is pre-seeded with ``BlockUntrustedRefererLinks=true``: LibreOffice otherwise
  fetches externally linked images over the network while converting.
* LibreOffice initialises a new profile on its first start (~0.25 s of CPU of its ~1.2 s start):
  the first successful conversion keeps a copy of its initialised profile (our settings only, no
  history) as a seed, private to the user (``annex-lo-seed-…`` in the temp dir, mode 0700), and
  each later conversion starts from a fresh copy of it — still its own profile. A conversion
  that fails on a seeded profile drops the seed and is tried once more on a bare one.
* Only documents annex generated itself are converted, never files from ministries.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from annex.io.files import owner_tag, pid_alive

SOFFICE_ENV = "ANNEX_SOFFICE"  # path of the soffice binary, if not on PATH
DEBIAN_PACKAGES = "libreoffice-writer-nogui fonts-ipaexfont fonts-noto-cjk"
MISSING_MESSAGE = (
    "LibreOffice（soffice）が見つからないため PDF は作成しませんでした。Word ファイル（.docx）は出力済みです。"
    f"PDF が必要な場合は scripts/setup.sh を実行するか、apt-get install {DEBIAN_PACKAGES} で導入してください。"
)

# Written into the private profile before LibreOffice starts.
REGISTRY = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseSystemFileDialog" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Setup/Office"><prop oor:name="ooSetupFirstStartWizard" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""


@dataclass
class PdfResult:
    ok: bool
    path: Path | None = None  # the PDF, when ok
    pages: int | None = None
    reason: str | None = None  # Japanese, when not ok
    seconds: float = 0.0
    returncode: int | None = None
    stderr: str = ""
    timed_out: bool = False


def find_soffice() -> str | None:
    explicit = os.environ.get(SOFFICE_ENV)
    if explicit:
        return explicit if Path(explicit).exists() else None
    return shutil.which("soffice") or shutil.which("libreoffice")


_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


def count_pages(pdf: Path) -> int:
    """Pages of a PDF: pdfinfo when present, else the page objects LibreOffice writes uncompressed."""
    pdfinfo = shutil.which("pdfinfo")
    if pdfinfo:
        try:
            out = subprocess.run([pdfinfo, str(pdf)], capture_output=True, text=True, timeout=60).stdout
            match = re.search(r"^Pages:\s+(\d+)", out, re.M)
            if match:
                return int(match.group(1))
        except (OSError, subprocess.TimeoutExpired):
            pass
    return len(_PAGE.findall(pdf.read_bytes()))


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


WORK_PREFIX = "annex-lo-"
SESSION_FILE = "soffice.session"


def reap_orphaned_conversions() -> int:
    """A render killed (kill -9) mid-conversion leaves LibreOffice running in its own session and
    its scratch folder in the temp dir: the next conversion ends that session (if it still runs)
    and removes the folder — only for a scratch folder whose owner's pid is gone."""
    reaped = 0
    for work in Path(tempfile.gettempdir()).glob(f"{WORK_PREFIX}pid*"):
        owner = re.match(rf"{WORK_PREFIX}pid(\d+)-", work.name)
        if owner is None or pid_alive(int(owner.group(1))):
            continue
        with contextlib.suppress(OSError, ValueError):
            session = int((work / SESSION_FILE).read_text(encoding="ascii"))
            # only if that pid is still our soffice (its command line names this scratch folder)
            if str(work) in Path(f"/proc/{session}/cmdline").read_bytes().decode("utf-8", "replace"):
                os.killpg(session, signal.SIGKILL)  # start_new_session: its pid is its group's
        shutil.rmtree(work, ignore_errors=True)
        reaped += 1
    return reaped


SEED_PREFIX = "annex-lo-seed-"


def _seed_path(soffice: str) -> Path:
    """Where this user keeps the initialised profile of this LibreOffice (its path and date)."""
    binary = Path(soffice).resolve()
    with contextlib.suppress(OSError):
        binary = Path(f"{binary}:{binary.stat().st_mtime_ns}")
    key = hashlib.sha256(f"{os.getuid()}|{binary}".encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"{SEED_PREFIX}{key}"


def _usable_seed(seed: Path) -> bool:
    """Only a folder this user made and nobody else can write: a profile decides what LibreOffice runs."""
    try:
        info = seed.lstat()
    except OSError:
        return False
    return seed.is_dir() and not seed.is_symlink() and info.st_uid == os.getuid() and not info.st_mode & 0o077


def _new_profile(profile: Path, seed: Path | None) -> None:
    if seed is not None:
        try:
            shutil.copytree(seed, profile, symlinks=True)
        except OSError:  # the seed went away meanwhile (another run dropped it): a bare profile
            shutil.rmtree(profile, ignore_errors=True)
            seed = None
    if seed is None:
        (profile / "user").mkdir(parents=True)
    # our settings, whatever the seed held: no history of earlier documents, links blocked
    (profile / "user" / "registrymodifications.xcu").write_text(REGISTRY, encoding="utf-8")


def _keep_seed(profile: Path, seed: Path) -> None:
    """Keep an initialised profile as the seed: copied beside it, then renamed into place (atomic)."""
    with contextlib.suppress(OSError):
        staging = Path(tempfile.mkdtemp(prefix=f"{SEED_PREFIX}new-", dir=seed.parent))
        try:
            shutil.copytree(profile, staging / "profile", symlinks=True)
            (staging / "profile" / "user" / "registrymodifications.xcu").write_text(REGISTRY, encoding="utf-8")
            os.chmod(staging / "profile", 0o700)
            os.rename(staging / "profile", seed)  # fails if another run kept one meanwhile: theirs stays
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def convert_to_pdf(docx_path: Path, out_dir: Path, timeout: float = 300.0, expected_min_pages: int = 1) -> PdfResult:
    """Convert docx_path to out_dir/<stem>.pdf. Never raises for a failed conversion: see .reason."""
    soffice = find_soffice()
    seed = _seed_path(soffice) if soffice else None
    if seed is not None and _usable_seed(seed):
        result = _convert(docx_path, out_dir, timeout, expected_min_pages, seed=seed)
        if result.ok or result.timed_out or result.returncode is None:  # done, or not LibreOffice's doing
            return result
        shutil.rmtree(seed, ignore_errors=True)  # perhaps the seed: once more on a bare profile
    return _convert(docx_path, out_dir, timeout, expected_min_pages, keep_as=seed)


def _convert(
    docx_path: Path,
    out_dir: Path,
    timeout: float,
    expected_min_pages: int,
    *,
    seed: Path | None = None,
    keep_as: Path | None = None,
) -> PdfResult:
    started = time.perf_counter()
    docx_path = Path(docx_path).resolve()
    out_dir = Path(out_dir).resolve()
    soffice = find_soffice()
    if not soffice:
        return PdfResult(ok=False, reason=MISSING_MESSAGE)
    if not docx_path.is_file():
        return PdfResult(ok=False, reason=f"PDF に変換する Word ファイル {docx_path} がありません")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return PdfResult(ok=False, reason=f"PDF の出力フォルダ {out_dir} を作成できません（{exc.strerror}）")

    reap_orphaned_conversions()
    work = Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}{owner_tag()}")).resolve()
    try:
        profile = work / "profile"
        _new_profile(profile, seed)
        converted = work / "out"
        converted.mkdir()
        command = [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",  # absolute file:/// URL, private to this run
            "--headless",
            "--invisible",
            "--norestore",
            "--nologo",
            "--nodefault",
            "--nolockcheck",
            "--convert-to",
            "pdf:writer_pdf_Export",
            "--outdir",
            str(converted),
            str(docx_path),
        ]
        env = dict(os.environ, HOME=str(work))  # nothing of the caller's LibreOffice set-up leaks in
        try:
            proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
        except OSError as exc:
            return PdfResult(ok=False, reason=f"LibreOffice を起動できません（{exc.strerror}）: {soffice}")
        (work / SESSION_FILE).write_text(str(proc.pid), encoding="ascii")  # its session: reaped if we are killed
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            return PdfResult(
                ok=False,
                reason=f"LibreOffice が {timeout:.0f} 秒以内に PDF 変換を終えなかったため中止しました",
                seconds=time.perf_counter() - started,
                timed_out=True,
            )
        _kill_group(proc)  # anything it left running in its group
        stderr = err.decode("utf-8", "replace").strip()
        result = PdfResult(ok=False, seconds=time.perf_counter() - started, returncode=proc.returncode, stderr=stderr[-2000:])
        produced = converted / f"{docx_path.stem}.pdf"
        detail = f"（終了コード {proc.returncode}{'、' + stderr.splitlines()[-1] if stderr else ''}）"
        if not produced.is_file() or produced.stat().st_size == 0:
            result.reason = f"LibreOffice は PDF を出力しませんでした{detail}"
            return result
        with open(produced, "rb") as handle:
            if handle.read(5) != b"%PDF-":
                result.reason = f"LibreOffice の出力が PDF ではありません{detail}"
                return result
        pages = count_pages(produced)
        result.pages = pages
        if pages < expected_min_pages:
            result.reason = (
                f"PDF のページ数が想定より少なすぎます（{pages} ページ、少なくとも {expected_min_pages} ページのはず）"
            )
            return result
        final = out_dir / produced.name
        shutil.move(str(produced), final)
        result.ok, result.path = True, final
        if keep_as is not None and not keep_as.exists():
            _keep_seed(profile, keep_as)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)
