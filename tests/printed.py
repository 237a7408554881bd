"""What a workbook looks like printed: LibreOffice headless → PDF → pdfinfo / pdffonts / pdftotext.

Tests read the workbook annex wrote as a user's spreadsheet program prints it (A4, pages wide,
page count, fonts), not only its cells.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

A4_LANDSCAPE = (841.89, 595.28)  # points


@dataclass
class Printed:
    pdf: Path
    pages: int
    page_size: tuple[float, float]  # of the first page, in points
    fonts: list[str]  # font names embedded or referenced
    text: str  # pdftotext -layout

    def page_texts(self) -> list[str]:
        return self.text.split("\f")


def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if not found or not shutil.which("pdfinfo"):
        pytest.skip("LibreOffice and poppler-utils are needed (scripts/setup.sh installs them)")
    return found


def print_workbook(xlsx: Path, out_dir: Path) -> Printed:
    """Convert xlsx to PDF with a private LibreOffice profile (every sheet that prints)."""
    binary = soffice()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="annex-lo-") as work:
        profile = Path(work, "profile").resolve()
        subprocess.run(
            [binary, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore", "--convert-to", "pdf",
             "--outdir", str(out_dir), str(xlsx)],
            check=True, capture_output=True, timeout=240, env={"HOME": work, "PATH": "/usr/bin:/bin"},
        )  # fmt: skip
    pdf = out_dir / f"{Path(xlsx).stem}.pdf"
    assert pdf.is_file(), f"LibreOffice wrote no PDF for {xlsx}"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    w, h = map(float, re.search(r"^Page size:\s+([\d.]+) x ([\d.]+)", info, re.M).groups())
    fonts_out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    fonts = [line.split()[0] for line in fonts_out.splitlines()[2:] if line.strip()]
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return Printed(pdf, pages, (w, h), fonts, text)


def render_pages(pdf: Path, prefix: Path, dpi: int = 60) -> list[Path]:
    """PNG pages (pdftoppm), for a person to look at."""
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(prefix)], check=True)
    return sorted(prefix.parent.glob(prefix.name + "*.png"))
