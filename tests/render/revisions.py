"""LibreOffice headless accepting and rejecting every tracked change of a .docx, in ONE session.

No python3-uno here (pyenv's Python cannot load Debian's pyuno): a small Basic macro, written into
a private profile's own "My Macros" library (trusted there, so no macro-security prompt), loads the
document hidden twice — .uno:AcceptAllTrackedChanges, then .uno:RejectAllTrackedChanges — and
stores each result as .docx; soffice runs it from a macro:/// URL and terminates.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

from annex.render.pdf import REGISTRY, find_soffice

MACRO = """
Sub Store(src As String, target As String, command As String)
    Dim load(0) As New com.sun.star.beans.PropertyValue
    load(0).Name = "Hidden"
    load(0).Value = True
    doc = StarDesktop.loadComponentFromURL(ConvertToURL(src), "_blank", 0, load())
    helper = createUnoService("com.sun.star.frame.DispatchHelper")
    helper.executeDispatch(doc.getCurrentController().getFrame(), command, "", 0, Array())
    Dim save(0) As New com.sun.star.beans.PropertyValue
    save(0).Name = "FilterName"
    save(0).Value = "MS Word 2007 XML"
    doc.storeToURL(ConvertToURL(target), save())
    doc.close(True)
End Sub

Sub AcceptReject(src As String, accepted As String, rejected As String)
    On Error Goto Done
    Store(src, accepted, ".uno:AcceptAllTrackedChanges")
    Store(src, rejected, ".uno:RejectAllTrackedChanges")
Done:
    StarDesktop.terminate()
End Sub
"""

# a profile already "installed": else the first start copies the presets over the library written here
_INSTALLED = (
    '<item oor:path="/org.openoffice.Setup/Office"><prop oor:name="ooSetupInstCompleted" oor:op="fuse">'
    "<value>true</value></prop></item></oor:items>"
)
_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
_LIBRARIES = (
    _HEAD + '<!DOCTYPE library:libraries PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "libraries.dtd">\n'
    '<library:libraries xmlns:library="http://openoffice.org/2000/library" xmlns:xlink="http://www.w3.org/1999/xlink">'
    '<library:library library:name="Standard" xlink:href="$(USER)/basic/Standard/{kind}.xlb/" xlink:type="simple" library:link="false"/>'
    "</library:libraries>\n"
)
_LIBRARY = (
    _HEAD + '<!DOCTYPE library:library PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "library.dtd">\n'
    '<library:library xmlns:library="http://openoffice.org/2000/library" library:name="Standard" library:readonly="false" '
    'library:passwordprotected="false">{elements}</library:library>\n'
)
_MODULE = (
    _HEAD + '<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd">\n'
    '<script:module xmlns:script="http://openoffice.org/2000/script" script:name="Revisions" script:language="StarBasic">'
    "{code}</script:module>\n"
)


def accept_and_reject(docx: Path, out_dir: Path, timeout: float = 180) -> tuple[Path, Path]:
    """(accepted.docx, rejected.docx) in out_dir, made by LibreOffice from docx."""
    soffice = find_soffice()
    assert soffice, "LibreOffice (soffice) is needed: scripts/setup.sh installs it"
    out_dir = Path(out_dir).resolve()
    accepted, rejected = out_dir / "accepted.docx", out_dir / "rejected.docx"
    with tempfile.TemporaryDirectory(prefix="annex-lo-rev-") as work:
        profile = Path(work) / "profile"
        basic = profile / "user" / "basic"
        (basic / "Standard").mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(
            REGISTRY.replace("</oor:items>", _INSTALLED), encoding="utf-8"
        )
        (basic / "script.xlc").write_text(_LIBRARIES.format(kind="script"), encoding="utf-8")
        (basic / "dialog.xlc").write_text(_LIBRARIES.format(kind="dialog"), encoding="utf-8")
        (basic / "Standard" / "script.xlb").write_text(
            _LIBRARY.format(elements='<library:element library:name="Revisions"/>'), encoding="utf-8"
        )
        (basic / "Standard" / "dialog.xlb").write_text(_LIBRARY.format(elements=""), encoding="utf-8")
        (basic / "Standard" / "Revisions.xba").write_text(_MODULE.format(code=escape(MACRO)), encoding="utf-8")
        call = f'macro:///Standard.Revisions.AcceptReject("{Path(docx).resolve()}","{accepted}","{rejected}")'
        command = [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--invisible",
            "--norestore",
            "--nologo",
            "--nolockcheck",
            call,
        ]
        subprocess.run(command, env=dict(os.environ, HOME=work), capture_output=True, timeout=timeout, check=False)
    assert accepted.is_file() and rejected.is_file(), f"LibreOffice did not write {accepted.name} and {rejected.name}"
    return accepted, rejected
