"""The rule catalogue: one place that says what a submission must satisfy.

The validator reports against these codes; the template's 記入要領 sheet is generated from the
same entries, so the instructions and the checks can never contradict each other. Codes are
stable (ministries and the secretariat quote them); severities may be overridden in config.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from functools import cache
from string import Formatter
from typing import Literal

from annex.model.issues import Issue, Location, Severity

Group = Literal["file", "structure", "line", "across", "notation", "annex"]
GROUP_TITLES: dict[Group, str] = {
    "file": "ファイル全体",
    "structure": "シートと列の構成",
    "line": "各行の記入内容",
    "across": "行と行の関係",
    "notation": "表記（公用文作成の考え方・別添の表記。警告のみ）",
    "annex": "別添全体の表記（取りまとめ後に事務局が確認）",
}
CATALOGUE_VERSION = "2026.7"  # part of the validation cache key: a changed catalogue re-validates


LiveWhen = Literal["line", "own_text", "own_tags"]


@dataclass(frozen=True)
class LiveCheck:
    """A rule as a spreadsheet formula, checked inside the template while the ministry types.

    ``formula`` is an Excel 2016 expression (no dynamic arrays, no LAMBDA or LET; it must compute
    the same in LibreOffice Calc), TRUE on a line that breaks the rule. Its fields name the line's
    cells by column key ({text}, {action}, {previous_text} …), what was sent ({sent_heading},
    {sent_tags} …, on the hidden リスト sheet, same row), lists there ({actions}, {fields},
    {tag_list}, {kana}, {superscripts}; {ids}: the item ids a 再掲元項目ID may name, each between {sep}s,
    in a few cells: every one, or in a large annex only the template's own, see PartialList), constants ({limit}, {edit}, {unchanged}, {delete}, {policy},
    {bullets}) and the shared expressions {changed} and {tags_norm} (LIVE_EXPRESSIONS);
    annex.distribute.live fills them. ``when`` is the validator's condition for applying the rule,
    as a formula in LIVE_WHEN: every line with content, or only text / tags the ministry wrote.
    Costly parts (a list looked through) stand behind IF, which both programs evaluate lazily."""

    column: str  # key of the cell coloured
    when: LiveWhen
    formula: str
    note: str  # what the チェック column says (Japanese; {limit} filled)
    stop: bool = False  # also a data validation that refuses the value with the rule's message
    partial: PartialList | None = None  # how it reads where the list it looks through is partial
    severity: Severity | None = None  # milder than the rule's in the template (set by `reading`)

    def reading(self, partial_lists: Collection[str]) -> LiveCheck:
        """The check as a template states it whose lists named in partial_lists are partial: a value
        not found there is only a doubt, so the check warns with the partial note and never refuses."""
        if self.partial is None or self.partial.name not in partial_lists:
            return self
        return replace(self, note=self.partial.note, stop=False, severity="warning", partial=None)


@dataclass(frozen=True)
class PartialList:
    """A live check's list that a template may carry only in part. In a large annex (a nationwide
    survey: a million item ids, thousands of bodies) each template lists only the ids its body can
    be expected to cite and the tags it can be expected to write (annex.distribute.template.
    plan_templates); the validator, which knows every id and tag, stays the judge."""

    name: str  # the list's field in the formula ({ids}: "ids", {tag_list}: "tag_list")
    note: str  # what the チェック column says instead (Japanese)
    guide: str  # what 記入要領 adds after 「記入中も確認」


# The validator's conditions (annex.validation: a line with content; own_text, own_tags) as formulas.
LIVE_WHEN: dict[LiveWhen, str] = {
    "line": '{item_id}&{field}&{heading}&{text}&{tags}&{relisted}&{relisted_of}&{action}<>""',
    "own_text": 'OR({item_id}="",NOT(EXACT({text},{previous_text})),NOT(EXACT({heading},{sent_heading})))',
    "own_tags": 'OR({item_id}="",NOT(EXACT({tags},{sent_tags})))',
}
LIVE_EXPRESSIONS = {
    # any editable cell differs from what was sent (the validator's `changed`; 対応 aside)
    "changed": "OR(NOT(EXACT({text},{previous_text})),NOT(EXACT({heading},{sent_heading})),"
    "NOT(EXACT(TRIM({field}),{sent_field})),NOT(EXACT({tags},{sent_tags})),"
    "NOT(EXACT(TRIM({relisted}),{sent_relisted})),NOT(EXACT(TRIM({relisted_of}),{sent_relisted_of})))",
    # 担当府省 as split_tags reads it, nearly: ，/,/､ are 、, no 【】, spaces do not count
    "tags_norm": 'SUBSTITUTE(SUBSTITUTE(SUBSTITUTE(SUBSTITUTE(SUBSTITUTE(SUBSTITUTE(SUBSTITUTE({tags},"，","、"),",","、"),'
    '"､","、"),"【",""),"】","")," ",""),"　","")',
}


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity
    group: Group
    title: str  # Japanese title
    title_en: str
    message: str  # Japanese message template; fields in {braces}
    guide: str  # how to comply, for 記入要領
    suggestion: str | None = None  # fix suggestion template, where one exists
    live: tuple[LiveCheck, ...] = ()  # the same rule as formulas in the template, where it can be one

    def issue(self, location: Location, severity: Severity | None = None, **fields: object) -> Issue:
        """The issue at location; fields fill the templates. The suggestion is left out when a field
        it needs is None (no near spelling to offer: say nothing rather than 「None」)."""
        suggestion = None
        if self.suggestion and all(fields[name] is not None for name in _fields_of(self.suggestion)):
            suggestion = self.suggestion.format(**fields)
        return Issue(
            rule=self.code,
            severity=severity or self.severity,
            location=location,
            message=self.message.format(**fields),
            suggestion=suggestion,
        )


_RULES = (
    # -- file level ------------------------------------------------------------------------
    Rule(
        "F-NOT-XLSX",
        "error",
        "file",
        "Excel ファイルではない",
        "Not an .xlsx workbook",
        "Excel ブック（.xlsx）として読めません（{detail}）。",
        "配布した様式（.xlsx）に記入し、Excel ブック形式のまま提出してください。",
        "配布した様式に記入し直し、「Excel ブック (*.xlsx)」形式で保存して再提出してください。",
    ),
    Rule(
        "F-LEGACY-XLS",
        "error",
        "file",
        "古い Excel 形式（.xls）",
        "Legacy .xls workbook",
        "古い Excel 形式（.xls）のファイルです。",
        "「Excel 97-2003 ブック」形式では提出できません。",
        "「名前を付けて保存」で「Excel ブック (*.xlsx)」を選んで保存し直してください。",
    ),
    Rule(
        "F-ENCRYPTED",
        "error",
        "file",
        "パスワード付き",
        "Encrypted workbook",
        "パスワードで保護（暗号化）されているため開けません。",
        "ファイルにパスワードを設定しないでください。",
        "「ファイル」→「情報」→「ブックの保護」でパスワードを解除して再提出してください。",
    ),
    Rule(
        "F-MACRO",
        "error",
        "file",
        "マクロ付き",
        "Macro-enabled workbook",
        "マクロ（VBA）を含むファイルは受け付けられません。",
        "マクロを含まない .xlsx 形式で提出してください。",
        "「Excel ブック (*.xlsx)」形式で保存し直してください（マクロは削除されます）。",
    ),
    Rule(
        "F-CORRUPT",
        "error",
        "file",
        "ファイルの破損",
        "Corrupt or truncated file",
        "ファイルが壊れているか、途中までしか届いていません（{detail}）。",
        "送信前に、ファイルが Excel で開けることを確認してください。",
        "元のファイルを Excel で開けることを確認し、もう一度送ってください。",
    ),
    Rule(
        "F-TOO-LARGE",
        "error",
        "file",
        "大きすぎるファイル",
        "File or content too large",
        "ファイルの内容が大きすぎます（{detail}）。",
        "様式以外のデータ（画像・大量の行など）を追加しないでください。",
        "様式の記入シート以外に追加したシートや画像、範囲外のセルを削除してください。",
    ),
    Rule(
        "F-OUTSIDE-TEMPLATE",
        "error",
        "file",
        "様式の範囲外への入力",
        "Data outside the template",
        "様式の範囲外（{cell}）に入力があります。",
        "記入シートの表の範囲内にのみ入力してください。",
        "{cell} の入力を削除してください。",
    ),
    Rule(
        "F-UNREADABLE",
        "error",
        "file",
        "読み取れないファイル",
        "Unreadable workbook",
        "ファイルを読み取れませんでした（{detail}）。",
        "配布した様式をそのまま使ってください。",
        "配布した様式に記入し直して再提出してください。",
    ),
    Rule(
        "F-FOREIGN",
        "error",
        "file",
        "配布した様式ではない",
        "Not an annex template",
        "annex が配布した様式ではありません（管理用シートがありません）。",
        "配布した様式のファイルを使ってください。別のファイルに写した内容は受け付けられません。",
        "配布した様式のファイルに記入し直してください。",
    ),
    Rule(
        "F-OUTDATED",
        "error",
        "file",
        "古い版の様式",
        "Outdated template version",
        "様式の版（{found}）が現在の版（{expected}）と異なります。",
        "今年度配布した様式を使ってください。",
        "今年度配布した様式に記入し直してください。",
    ),
    Rule(
        "F-WRONG-YEAR",
        "error",
        "file",
        "年度の違う様式",
        "Template of another year",
        "{found}年度の様式です（取りまとめ中は {expected}年度）。",
        "今年度配布した様式を使ってください。",
        "{expected}年度の様式に記入し直してください。",
    ),
    Rule(
        "F-UNKNOWN-MINISTRY",
        "error",
        "file",
        "府省が特定できない",
        "Unknown ministry in metadata",
        "様式の府省情報（{found}）が登録されていません。",
        "自府省あてに配布された様式を使ってください。",
        "事務局にお問い合わせください。",
    ),
    Rule(
        "F-TAMPERED",
        "error",
        "file",
        "様式の改変",
        "Template metadata or locked content tampered",
        "様式の管理情報または変更不可の部分が改変されています（{detail}）。",
        "灰色の列（変更不可）や管理用シートを編集・削除しないでください。",
        "配布した様式に記入し直してください。",
    ),
    Rule(
        "F-EMPTY",
        "error",
        "file",
        "記入がない",
        "Empty submission",
        "記入シートに記載が1件もありません。",
        "記入シートの行を削除しないでください。変更がない場合も、そのまま提出してください。",
        None,
    ),
    Rule(
        "F-FORMULA",
        "warning",
        "file",
        "数式の入力",
        "Formula in a cell",
        "{address} に数式が入力されています。数式は取り込まず、表示されている値「{shown}」を使います。",
        "数式ではなく、文章を直接入力してください。",
        "{address} を文章（値）で入力し直してください。",
    ),
    Rule(
        "F-FORMULA-NOT-CALCULATED",
        "error",
        "file",
        "計算されていない数式",
        "Formula without a calculated value",
        "{address} の数式に計算結果が保存されていないため、表示される値が分かりません。",
        "数式ではなく、文章を直接入力してください。",
        "Excel で開いて保存し直すか、{address} に値を直接入力してください。",
    ),
    Rule(
        "F-TYPED-VALUE",
        "warning",
        "file",
        "文字列ではない入力",
        "Number, date or boolean typed into a text cell",
        "{address} は Excel が{kind}として保存しています。表示どおり「{shown}」として取り込みました。",
        "記載は文字列として入力してください（数値や日付に自動変換された場合は、先頭に「'」を付けて入力します）。",
        "表示と違う場合は、{address} に「'」に続けて文字列として入力し直してください。",
    ),
    Rule(
        "F-VALUE-UNSHOWN",
        "error",
        "file",
        "表示どおりに読めない入力",
        "A typed value whose displayed text cannot be reproduced",
        "{address} は Excel が{kind}（表示形式「{format}」）として保存しているため、表示どおりの文字列が確定できません。",
        "記載は文字列として入力してください。",
        "{address} に「'」に続けて、表示させたい文字列を入力し直してください。",
    ),
    Rule(
        "S-SHEET-COPIED",
        "error",
        "structure",
        "記入シートの写し",
        "A copy of the entry sheet holds the edits",
        "シート「{sheet}」は記入シートの写しで、「{entry}」と内容が違います（{address} など）。取り込むのは「{entry}」だけです。",
        "記入はシート「記入シート」に直接行い、シートをコピー・非表示にしないでください。",
        "写しの内容をシート「{entry}」に反映して再表示し、写し「{sheet}」を削除してから再提出してください。",
    ),
    Rule(
        "S-SHEET-HIDDEN",
        "warning",
        "structure",
        "非表示の記入シート",
        "Entry sheet hidden",
        "シート「{entry}」が非表示になっています。非表示のシートの内容を取り込みました。",
        "記入シートを非表示にしないでください。",
        "シート「{entry}」を再表示し、内容が最新であることを確認してください。",
    ),
    Rule(
        "F-READ-INTERRUPTED",
        "error",
        "file",
        "読み取りの中断（処理側の問題）",
        "Reading interrupted by the machine",
        "処理側の都合でファイルの読み取りが完了しませんでした（{detail}）。ファイルの問題ではありません。次回の実行で自動的に読み直します。",
        "（府省の対応は不要です）",
        None,
    ),
    Rule(
        "F-CHECK-FAILED",
        "error",
        "file",
        "検証処理の内部エラー",
        "Unexpected error in annex's checks",
        "このファイルの検証中に annex 内部のエラーが起きました（{detail}）。ファイルの判定は保留し、事務局が確認します。",
        "（府省の対応は不要です）",
        None,
    ),
    # -- structure -------------------------------------------------------------------------
    Rule(
        "S-SHEET-MISSING",
        "error",
        "structure",
        "シートがない",
        "Sheet missing or renamed",
        "シート「{sheet}」がありません（シート名が変更または削除されています）。",
        "シート名を変更・削除しないでください。",
        "シート名を「{sheet}」に戻してください。",
    ),
    Rule(
        "S-COLUMN-MISSING",
        "error",
        "structure",
        "列見出しがない",
        "Column label missing or renamed",
        "列見出し「{label}」が見つかりません。",
        "列見出し（3行目）を変更・削除しないでください。列の追加・並べ替えもしないでください。",
        "{suggestion}",
    ),
    Rule(
        "S-HEADER-MOVED",
        "error",
        "structure",
        "見出し行の移動",
        "Header row moved",
        "列見出しが {found}行目にあります（{expected}行目のはずです）。",
        "行の挿入・削除で見出し行（3行目）を動かさないでください。",
        "見出し行より上に挿入した行、または削除した行を元に戻してください。",
    ),
    # -- line level ------------------------------------------------------------------------
    Rule(
        "L-NOTE-MANGLED",
        "error",
        "line",
        "脚注の参照の書き方",
        "Footnote mark typed in another form",
        "脚注の参照「{found}」の書き方が違います。",
        "脚注の参照は記載内容の中に「［注174］」の形（全角の角括弧）で、引用する位置に置いてください。",
        "「{found}」を「{expected}」に直してください。",
    ),
    Rule(
        "L-NOTE-UNKNOWN",
        "error",
        "line",
        "存在しない脚注の参照",
        "Footnote mark citing no footnote",
        "脚注［注{number}］は別添にありません。",
        "新しい脚注が必要な場合は、脚注の本文を事務局に連絡してください（参照［注番号］だけでは追加できません）。",
        None,
    ),
    Rule(
        "L-NOTE-REMOVED",
        "warning",
        "line",
        "脚注の参照の削除",
        "Footnote mark removed",
        "前年度の記載にあった脚注の参照［注{number}］がなくなっています。",
        "脚注が不要になった場合は参照を削除して構いません。残す場合は「［注番号］」をそのまま残してください。",
        None,
    ),
    Rule(
        "L-QUOTED-CHANGED",
        "error",
        "line",
        "基本計画からの引用の変更",
        "Quoted Basic Plan text changed",
        "欄「{field}」は基本計画からの引用です。{what}変更できるのは記載内容の［注番号］の位置と有無だけです。",
        "欄「あるべき姿」「基本計画における具体的な取組」の行（事務局の記入シートのみ）では、脚注の参照［注番号］を"
        "移動・追加・削除できます。文言は基本計画のとおりとし、行の追加・削除はしないでください。",
        "元の文言に戻してください: {expected}",
    ),
    Rule(
        "L-TEXT-EMPTY",
        "error",
        "line",
        "記載内容が空欄",
        "Empty text",
        "記載内容が空欄です。",
        "記載内容は空欄にしないでください。記載を取りやめる場合は、対応を「削除」にしてください。",
        "文章を記入するか、対応を「削除」にしてください。",
        live=(
            LiveCheck(
                "text", "line", 'AND(TRIM({text})="",TRIM({action})<>{delete})', "記載内容が空欄です（取りやめは対応「削除」）"
            ),
        ),
    ),
    Rule(
        "L-TEXT-TOO-LONG",
        "error",
        "line",
        "記載内容が長すぎる",
        "Text too long",
        "記載内容が {length} 字あり、上限の {limit} 字を超えています。",
        "1つの記載は {limit} 字以内としてください。長い場合は記載を分けてください。",
        "{limit} 字以内に短くするか、2つの記載に分けてください。",
        live=(LiveCheck("text", "own_text", "LEN({text})>{limit}", "記載内容が{limit}字を超えています"),),
    ),
    Rule(
        "L-STRAY-CONTENT",
        "warning",
        "line",
        "記載の行ではない入力",
        "Text outside any line",
        "{address}{more} の入力は、項目IDも記入欄もない行にあるため取り込んでいません。",
        "記載は記入欄（記載内容・見出し・担当府省など）に入力してください。参考の列（灰色）への入力は取り込まれません。",
        "取り込む記載であれば、空き行の記入欄に入力し直してください。不要な入力であれば削除してください。",
    ),
    Rule(
        "L-HEADING-TOO-LONG",
        "error",
        "line",
        "見出しが長すぎる",
        "Heading too long",
        "見出しが {length} 字あり、上限の {limit} 字を超えています。",
        "見出し（＜…＞ など）は {limit} 字以内としてください。文章は記載内容に書いてください。".replace("{limit}", "200"),
        "見出しを {limit} 字以内に短くし、文章は記載内容に移してください。",
    ),
    Rule(
        "L-CONTROL-CHAR",
        "error",
        "line",
        "制御文字",
        "Control characters",
        "表示できない制御文字（{chars}）が含まれています。",
        "他のシステムから貼り付けた文章に含まれる、目に見えない文字に注意してください。",
        "セルの内容を削除して、文章を入力し直してください。",
    ),
    Rule(
        "L-TYPED-BULLET",
        "error",
        "line",
        "先頭の「・」",
        "Leading bullet typed",
        "記載内容の先頭に「{found}」があります。別添では「・」を自動で付けるため、二重になります。",
        "記載内容は「・」を付けずに書き始めてください。",
        "次のとおり直してください: {fixed}",
        live=(
            LiveCheck(
                "text",
                "own_text",
                'ISNUMBER(FIND(LEFT(TRIM(SUBSTITUTE({text},"　"," "))&"_",1),{bullets}))',
                "記載内容の先頭に「・」があります（自動で付きます）",
            ),
        ),
    ),
    Rule(
        "L-TYPED-TAGS",
        "error",
        "line",
        "末尾の【担当府省】",
        "Tag block typed",
        "記載内容の末尾に【{found}】があります。別添では担当府省の欄から【…】を自動で付けるため、二重になります。",
        "【担当府省】は記載内容に書かず、担当府省の欄に略称を「、」で区切って記入してください。",
        "記載内容から【{found}】を削除し（{fixed}）、担当府省の欄に「{found}」と記入してください。",
        live=(
            LiveCheck(
                "text",
                "own_text",
                'AND(RIGHT(TRIM({text}),1)="】",ISNUMBER(FIND("【",{text})))',
                "記載内容の末尾に【担当府省】があります（担当府省の欄へ）",
            ),
        ),
    ),
    Rule(
        "L-TYPED-RELISTED",
        "error",
        "line",
        "記載内容の（再掲）",
        "（再掲） typed",
        "記載内容に「（再掲）」があります。別添では再掲の欄から（再掲）を自動で付けるため、二重になります。",
        "再掲の場合は記載内容に（再掲）と書かず、再掲の欄で「再掲」を選んでください。",
        "記載内容から（再掲）を削除し（{fixed}）、再掲の欄で「再掲」を選んでください。",
        live=(
            LiveCheck(
                "text",
                "own_text",
                'ISNUMBER(FIND("（再掲）",SUBSTITUTE(SUBSTITUTE(SUBSTITUTE(SUBSTITUTE({text}," ",""),"　",""),"(","（"),")","）")))',
                "記載内容に（再掲）があります（再掲の欄で選びます）",
            ),
        ),
    ),
    Rule(
        "L-TYPED-NOTE-NUMBER",
        "error",
        "line",
        "上付き数字の脚注番号",
        "Superscript footnote number typed",
        "記載内容に上付きの数字「{found}」があります。脚注の参照は［注番号］の形で書きます。",
        "脚注の参照は「［注174］」のように、全角の角括弧と「注」を付けて記入してください。",
        "次のとおり直してください: {fixed}",
        live=(
            LiveCheck(
                "text",
                "own_text",
                "SUMPRODUCT(--ISNUMBER(FIND({superscripts},{text})))>0",
                "記載内容に上付きの数字があります（［注番号］の形で）",
            ),
        ),
    ),
    Rule(
        "L-HALFWIDTH-KANA",
        "error",
        "line",
        "半角カタカナ",
        "Half-width katakana",
        "半角カタカナ（{chars}）が使われています。",
        "カタカナは全角で入力してください。",
        "全角で「{fixed}」と入力してください。",
        live=(
            LiveCheck("text", "own_text", "SUMPRODUCT(--ISNUMBER(FIND({kana},{text})))>0", "記載内容に半角カタカナがあります"),
            LiveCheck(
                "heading", "own_text", "SUMPRODUCT(--ISNUMBER(FIND({kana},{heading})))>0", "見出しに半角カタカナがあります"
            ),
        ),
    ),
    Rule(
        "L-LOOKALIKE",
        "warning",
        "line",
        "紛らわしい文字",
        "Look-alike characters",
        "紛らわしい文字（{chars}）が使われています。",
        "長音「ー」の代わりにダッシュ「―」を使うなど、形の似た別の文字を使わないでください。",
        "{fixed}",
    ),
    Rule(
        "L-TAG-UNKNOWN",
        "error",
        "line",
        "略称表にないタグ",
        "Unknown ministry tag",
        "担当府省「{tag}」は略称表にありません。",
        "担当府省は、記入要領の略称表（リスト）にある略称で記入してください（例: 科技、文、経）。",
        "「{suggestion}」と記入してください。",
        live=(
            LiveCheck(
                "tags",
                "own_tags",
                'IF(TRIM({tags})="",FALSE,SUMPRODUCT(ISNUMBER(FIND("、"&{tag_list}&"、","、"&{tags_norm}&"、"))*(LEN({tag_list})+1))'
                "<>LEN({tags_norm})+1)",
                "担当府省に略称表にない略称があります（「、」で区切ります）",
                partial=PartialList(
                    "tag_list",
                    "この様式の略称表にない略称です。提出後に事務局側で確認します",
                    "この様式の略称表には自府省の取組に関係する府省等の略称だけを載せているため、略称表にない略称は記入中は警告にとどめ、提出後に事務局側で確認します",
                ),
            ),
        ),
    ),
    Rule(
        "L-TAG-ALIAS",
        "warning",
        "line",
        "略称表と異なるタグの表記",
        "Ministry tag in another spelling",
        "担当府省「{tag}」は略称表の「{canonical}」として反映します。",
        "担当府省は略称表の表記で記入してください。設定された別表記（config/tags.yaml の aliases）は、略称表の表記に直して反映します。",
        "「{canonical}」と記入してください。",
    ),
    Rule(
        "L-TAG-MISSING-SELF",
        "error",
        "line",
        "自府省が担当府省にない",
        "Tag block omits the submitting ministry",
        "担当府省（{tags}）に自府省「{ministry}」が含まれていません。",
        "自府省が担当する記載のみ追加・修正できます。担当府省には自府省を必ず含めてください。",
        "自府省の記載であれば担当府省に「{ministry}」を加えてください。他府省の記載であれば、その府省に依頼してください。",
    ),
    Rule(
        "L-TAGS-EMPTY",
        "error",
        "line",
        "担当府省が空欄",
        "No ministry tag",
        "今後の取組方針の担当府省が空欄です。",
        "今後の取組方針には担当府省を必ず記入してください。",
        "「{ministry}」などの略称を記入してください。",
        live=(
            LiveCheck(
                "tags",
                "own_tags",
                'AND(TRIM({field})={policy},TRIM({action})<>{delete},TRIM({tags})="")',
                "今後の取組方針の担当府省が空欄です",
            ),
        ),
    ),
    Rule(
        "L-FIELD-INVALID",
        "error",
        "line",
        "欄の値が不正",
        "Invalid 欄 value",
        "欄「{value}」は選択肢にありません。",
        "欄は「実施状況・現状分析」「今後の取組方針」から選んでください。",
        "プルダウンから選び直してください。",
        live=(LiveCheck("field", "line", "ISNA(MATCH(TRIM({field}),{fields},0))", "欄が空欄か、選択肢にない値です"),),
    ),
    Rule(
        "L-ACTION-INVALID",
        "error",
        "line",
        "対応の値が不正",
        "Invalid 対応 value",
        "対応「{value}」は選択肢にありません。",
        "対応は「変更なし」「修正」「新規」「削除」から選んでください。",
        "プルダウンから選び直してください（{suggestion}）。",
        live=(LiveCheck("action", "line", "ISNA(MATCH(TRIM({action}),{actions},0))", "対応が空欄か、選択肢にない値です"),),
    ),
    Rule(
        "L-RELISTED-UNKNOWN",
        "error",
        "line",
        "再掲元が存在しない",
        "Unknown 再掲元項目ID",
        "再掲元項目ID「{value}」の記載は存在しません。",
        "再掲元項目IDには、別添に実在する記載の項目IDを記入してください（分からなければ空欄）。",
        "正しい項目IDを記入するか、空欄にしてください。",
        live=(
            LiveCheck(
                "relisted_of",
                "line",
                'IF(TRIM({relisted_of})="",FALSE,SUMPRODUCT(--ISNUMBER(FIND({sep}&TRIM({relisted_of})&{sep},{ids})))=0)',
                "再掲元項目IDの記載が別添にありません",
                stop=True,
                partial=PartialList(
                    "ids",
                    "この様式の一覧にない項目IDです。提出後に事務局側で確認します",
                    "この様式には自府省の記載に関係する項目IDだけを載せているため、一覧にない項目IDは記入中は警告にとどめ、提出後に事務局側で確認します",
                ),
            ),
        ),
    ),
    Rule(
        "L-ID-ALTERED",
        "error",
        "line",
        "項目IDの改変",
        "Item id altered or invented",
        "項目ID「{value}」はこの様式で配布したものではありません。",
        "項目IDは変更しないでください。新しい記載は、空いている行に項目IDを空欄のまま記入してください。",
        "項目IDを元に戻すか、新規の記載であれば項目IDを空欄にして対応を「新規」にしてください。",
    ),
    Rule(
        "L-LOCKED-CHANGED",
        "error",
        "line",
        "変更不可の欄の変更",
        "Locked content changed",
        "変更不可の「{label}」が変更されています（配布時: {expected}）。",
        "灰色の列は変更しないでください。",
        "「{label}」を配布時の内容に戻してください。",
    ),
    Rule(
        "L-NEW-WITH-ID",
        "error",
        "line",
        "新規の行に項目ID",
        "New line carries an id",
        "対応が「新規」ですが、項目ID「{value}」が入っています。",
        "新規の記載は項目IDを空欄のままにしてください（取りまとめ時に付番します）。",
        "既存の記載の修正であれば対応を「修正」に、新しい記載であれば項目IDを削除してください。",
    ),
    Rule(
        "L-ROW-UNKNOWN",
        "error",
        "line",
        "追加先の行が不明",
        "Unknown 行ID",
        "行ID「{value}」の取組は別添にありません。",
        "新規の記載は、追加したい取組の下にある空き行に記入してください。",
        "追加したい取組の下の空き行に記入し直してください。",
    ),
    Rule(
        "L-UNCHANGED-BUT-EDITED",
        "warning",
        "line",
        "対応が「変更なし」のまま修正",
        "Edited but marked 変更なし",
        "記載内容が前年度から変わっていますが、対応が「変更なし」です。修正として受け付けました。",
        "記載を修正したときは、対応を「修正」にしてください。",
        "対応を「修正」にしてください。",
        live=(
            LiveCheck(
                "action",
                "line",
                'IF(OR({item_id}="",TRIM({action})<>{unchanged}),FALSE,{changed})',
                "修正した記載は対応を「修正」にしてください",
            ),
        ),
    ),
    Rule(
        "L-EDIT-UNCHANGED",
        "warning",
        "line",
        "対応が「修正」のまま変更なし",
        "Marked 修正 but nothing changed",
        "対応が「修正」ですが、記載内容・見出し・担当府省などが前年度から変わっていません。",
        "対応を「修正」にするのは、記載内容などを書き換えたときだけにしてください。",
        "書き換える予定がなければ、対応を「変更なし」に戻してください。",
        live=(
            LiveCheck(
                "action",
                "line",
                'IF(OR({item_id}="",TRIM({action})<>{edit}),FALSE,NOT({changed}))',
                "対応が「修正」ですが、前年度から変わっていません",
            ),
        ),
    ),
    Rule(
        "L-NOT-OWNER",
        "error",
        "line",
        "担当外の記載の変更",
        "Change to a bullet the ministry does not own",
        "この記載の担当府省は {owners} で、自府省は変更・削除できません。",
        "他府省の記載は参考として表示しています。変更が必要な場合は、担当府省に依頼してください。",
        "対応を「変更なし」に戻してください。",
    ),
    # -- across lines ----------------------------------------------------------------------
    Rule(
        "X-DUPLICATE-ID",
        "error",
        "across",
        "項目IDの重複",
        "Duplicate item id",
        "項目ID「{value}」が {count} 行にあります（{cells}）。",
        "行をコピーして増やさないでください。新しい記載は空き行に記入してください。",
        "重複している行のうち1行を残し、新しい記載は項目IDを空欄にしてください。",
    ),
    Rule(
        "X-DUPLICATE-TEXT",
        "warning",
        "across",
        "再掲の印のない重複",
        "Same text twice without 再掲",
        "同じ記載が {cells} にもありますが、「再掲」の印がありません。",
        "他の箇所と同じ記載を載せる場合は、再掲欄で「再掲」を選んでください。",
        "再掲であれば再掲欄で「再掲」を選び、再掲元項目IDを記入してください。",
    ),
    # -- notation (公用文作成の考え方 2022 and the annex's house style): warnings by default ---
    Rule(
        "N-PUNCT",
        "warning",
        "notation",
        "句読点の「，」「．」",
        "Comma or period as punctuation",
        "句読点に「{found}」が使われています。別添では読点「、」、句点「。」を使います。",
        "句読点は「、」「。」を使ってください（数字の桁区切りの「,」と小数点の「.」はそのままで構いません）。",
        "「{found}」を「{fixed}」にしてください。",
    ),
    Rule(
        "N-PUNCT-DOUBLE",
        "warning",
        "notation",
        "句読点の重複",
        "Doubled punctuation",
        "句読点「{found}」が重なっています。",
        "「。。」「、。」のように句読点を重ねないでください。",
        "「{found}」を「{fixed}」にしてください。",
    ),
    Rule(
        "N-WIDTH-ACRONYM",
        "warning",
        "notation",
        "略語の半角",
        "Half-width acronym",
        "略語「{found}」が半角です。別添では略語を全角で書きます（例: ＡＩ、ＤＸ）。",
        "ＡＩ・ＤＸなどの大文字の略語は全角で書いてください。英語の語句（AI for Science、Society 5.0 など）は半角のままで構いません。",
        "「{found}」を「{fixed}」にしてください。",
    ),
    Rule(
        "N-WIDTH-DIGIT",
        "warning",
        "notation",
        "数字の全角・半角",
        "Digit width",
        "数字「{found}」の幅が別添の表記と異なります（1桁は全角、2桁以上は半角）。",
        "数字は、1桁は全角（令和７年度）、2桁以上は半角（令和10年度、2,000人）で書いてください。",
        "「{found}」を「{fixed}」にしてください。",
    ),
    Rule(
        "N-WIDTH-MIXED",
        "warning",
        "notation",
        "全角・半角の混在した語",
        "Token in two widths",
        "「{found}」は一つの語の中で全角と半角が混在しています。",
        "Ｇ７・ＣＯ２のように、一つの語は全角でそろえてください。",
        "「{found}」を「{fixed}」にしてください。",
    ),
    Rule(
        "N-WIDTH-SYMBOL",
        "warning",
        "notation",
        "記号の全角・半角",
        "Symbol width",
        "記号「{found}」が別添の表記と異なります。",
        "記号は「％」「～」「＜＞」のように全角で書いてください。",
        "「{found}」を「{fixed}」にしてください。",
    ),
    Rule(
        "N-BRACKET-UNPAIRED",
        "warning",
        "notation",
        "括弧の対応",
        "Unmatched bracket",
        "括弧「{found}」に対応する括弧がありません（「{context}」）。",
        "括弧（）「」【】は開きと閉じをそろえてください。",
        None,
    ),
    Rule(
        "N-BRACKET-WIDTH",
        "warning",
        "notation",
        "半角の丸括弧",
        "Half-width parentheses",
        "丸括弧「{found}」が半角、または全角と半角の組合せです。",
        "日本語を囲む丸括弧は全角の（）を使ってください。",
        "「{fixed}」にしてください。",
    ),
    Rule(
        "N-BRACKET-NESTED",
        "warning",
        "notation",
        "二重かぎ括弧『』",
        "Double corner brackets",
        "『』が使われています。公用文では、かぎ括弧の中のかぎ括弧も「」で書きます。",
        "引用や名称の中の引用も「」で囲んでください（『』は使いません）。",
        "「{fixed}」にしてください。",
    ),
    Rule(
        "N-SPACE-BRACKET",
        "warning",
        "notation",
        "括弧の内側の空白",
        "Space inside brackets",
        "括弧の内側に空白があります（「{context}」）。",
        "括弧の直後・直前に空白を入れないでください（（令和６年度時点）のように）。",
        "空白を削除してください。",
    ),
    Rule(
        "N-SPACE",
        "warning",
        "notation",
        "不要な空白",
        "Stray space",
        "文中に空白があります（「{context}」）。別添では、日本語の間や日本語と英数字の間に空白を入れません。",
        "「令和７年度」「広島ＡＩプロセス」のように、文中に空白を入れないでください。",
        "空白を削除してください。",
    ),
    Rule(
        "N-COUNTER",
        "warning",
        "notation",
        "「か所」「か月」の書き方",
        "Counter written 箇/ヶ/カ",
        "「{found}」は、算用数字に続けるときは「{fixed}」と書きます（公用文作成の考え方）。",
        "算用数字に続けるときは「３か所」「６か月」「10か国」と書いてください。",
        "「{found}」を「{fixed}」にしてください。",
    ),
    Rule(
        "N-NUMERAL-TSU",
        "warning",
        "notation",
        "「一つ」の書き方",
        "Native numeral in digits",
        "「{found}」は漢数字で「{fixed}」と書きます（公用文作成の考え方）。",
        "「一つ」「三つ」のような和語の数え方は漢数字で書いてください。",
        "「{found}」を「{fixed}」にしてください。",
    ),
    Rule(
        "N-ERA-INVALID",
        "warning",
        "notation",
        "ありえない元号の年",
        "Impossible era year",
        "「{found}」は元号の年としてありえません（{detail}）。",
        "元号の年は「令和７年度」のように書いてください。西暦で書く場合は「2040年度」とし、元号を付けないでください。",
        "「{fixed}」としてください（または西暦で書いてください）。",
    ),
    Rule(
        "N-ERA-MISMATCH",
        "warning",
        "notation",
        "元号と西暦の不一致",
        "Era and western year disagree",
        "「{found}」の元号と西暦が一致しません（{detail}）。",
        "元号と西暦を併記するときは、令和Ｎ年＝（2018＋Ｎ）年となるようにしてください。",
        None,
    ),
    Rule(
        "N-EMPTY-MARKER",
        "warning",
        "notation",
        "空欄の印",
        "Empty-cell marker",
        "空欄を示す印「{found}」が別添の表記と異なります。",
        "記載がないことを示す場合は、全角の「－」を使ってください。",
        "「{fixed}」にしてください。",
    ),
    Rule(
        "N-SENTENCE-END",
        "warning",
        "notation",
        "文末の「。」",
        "Sentence without 。",
        "記載が「。」で終わっていません。",
        "実施状況・現状分析と今後の取組方針の記載は、「。」で終えてください（（再掲）と【担当府省】は自動で後に付きます）。",
        "末尾に「。」を付けてください。",
    ),
    Rule(
        "N-DICTIONARY",
        "warning",
        "notation",
        "公用文の表記（辞書）",
        "Wording per the notation dictionary",
        "「{found}」は「{fixed}」と書きます。{detail}",
        "公用文の表記に合わせてください（及び・又は・ほか・できる など。事務局の辞書 config/notation.yaml のとおり）。",
        "「{found}」を「{fixed}」にしてください。",
    ),
    # -- the whole annex (the secretariat's lint of master(Y)) --------------------------------
    Rule(
        "A-VARIANT",
        "warning",
        "annex",
        "表記ゆれ",
        "Same term in two forms",
        "「{found}」は別添の他の箇所では「{fixed}」と書かれています（{counts}）。",
        "同じ語は別添全体で同じ表記にしてください（例: ＡＩ、ＣＯ２、広島ＡＩプロセス）。",
        "「{found}」を「{fixed}」にしてください。",
    ),
    Rule(
        "A-TAGS-MISSING",
        "warning",
        "annex",
        "担当府省のない取組方針",
        "Policy bullet without a tag block",
        "今後の取組方針の記載に【担当府省】がありません。",
        "今後の取組方針の記載には、担当府省の欄に略称を必ず記入してください。",
        None,
    ),
    Rule(
        "A-TAG-UNLISTED",
        "warning",
        "annex",
        "略称表にない略称",
        "Tag not in the abbreviation table",
        "担当府省「{found}」は別添の略称表にありません。",
        "担当府省には、略称表にある略称を使ってください。",
        None,
    ),
    Rule(
        "A-TAG-ORDER",
        "warning",
        "annex",
        "担当府省の順序",
        "Tags out of table order",
        "担当府省【{found}】が略称表の順になっていません。",
        "担当府省の略称は、略称表の順に並べてください。",
        "【{fixed}】の順にしてください。",
    ),
    Rule(
        "A-MEASURE-MARKER",
        "warning",
        "annex",
        "取組の印「〇」",
        "Measure marker",
        "基本計画の取組の印「{found}」が「〇」（U+3007）ではありません。",
        "基本計画における具体的な取組の印は「〇」（漢数字のゼロ、U+3007）を使います。",
        "「〇」にしてください。",
    ),
    Rule(
        "A-FOOTNOTE-UNDEFINED",
        "warning",
        "annex",
        "定義のない脚注の参照",
        "Footnote reference without a definition",
        "脚注［注{found}］の本文が別添にありません。",
        "脚注の参照には、別添の脚注の本文が必要です。",
        None,
    ),
    Rule(
        "A-FOOTNOTE-UNUSED",
        "warning",
        "annex",
        "参照されない脚注",
        "Footnote defined but never cited",
        "脚注{found}はどの記載からも参照されていません。",
        "参照されなくなった脚注は削除してください。",
        None,
    ),
)


@cache
def _fields_of(template: str) -> tuple[str, ...]:
    """The field names a message template uses: "「{suggestion}」と…" → ("suggestion",)."""
    return tuple(name for _, name, _, _ in Formatter().parse(template) if name)


RULES: dict[str, Rule] = {rule.code: rule for rule in _RULES}
# Rules that stop a submission before any of its lines can be read, or leave them without a
# ministry: they are errors whatever config says (a warning would accept a file with no lines).
BLOCKING = frozenset(
    {
        "F-NOT-XLSX",
        "F-LEGACY-XLS",
        "F-ENCRYPTED",
        "F-MACRO",
        "F-CORRUPT",
        "F-TOO-LARGE",
        "F-OUTSIDE-TEMPLATE",
        "F-UNREADABLE",
        "F-FOREIGN",
        "F-UNKNOWN-MINISTRY",
        "S-SHEET-MISSING",
    }
)
TEXT_LIMIT = 2000  # characters per bullet (the longest in the 2025 annex is well under this)
HEADING_LIMIT = 200  # characters per 見出し (the longest in the 2025 annex has 28)


def live_rules() -> list[Rule]:
    """The rules the template also checks while the ministry types (each with its formulas)."""
    return [r for r in _RULES if r.live]


def rule(code: str) -> Rule:
    return RULES[code]


def rules_in_group(group: Group) -> list[Rule]:
    return [r for r in _RULES if r.group == group]
