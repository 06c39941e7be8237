"""The terms of a real dataset: found where datasets keep them, carried into everything made from it.

Datasets keep their licence and attribution in a few places, and :func:`find_data_terms` looks in all
of them, in this order:

1. files in the dataset folder (``SOURCES.md``, ``LICENSE``, ``ATTRIBUTION.md``, ...);
2. the same names in its parent folder (a folder of several datasets often has one ``SOURCES.md``);
3. a dataset card: the YAML front matter of ``README.md`` in the folder, its ``license:`` field;
4. what the user says explicitly (``license=`` / ``terms=``; ``--data-license`` / ``--data-terms``).

Exports then copy the files into ``ATTRIBUTION/`` (:meth:`DataTerms.write`), and model cards quote the
terms with ``license: other`` (:attr:`DataTerms.card_text`): weights carry the terms of their data.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ATTRIBUTION_NAMES = ("SOURCES.md", "SOURCE.txt", "LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE", "LICENCE.txt",
                     "ATTRIBUTION.md")
LOOKED_FOR = "SOURCES.md, LICENSE or ATTRIBUTION.md in the folder or its parent, or a dataset card's license:"


@dataclass(frozen=True)
class DataTerms:
    """What is known of a dataset's terms.

    Attributes:
        files: attribution and licence files to copy into anything derived from the data.
        license: a licence identifier (``cc-by-4.0``), from the user or a dataset card's ``license:``.
        text: the terms in words, quoted in model cards (the dataset's own section of a shared
            ``SOURCES.md``, a licence file, the card's licence, or the user's ``terms``).
    """

    files: tuple[Path, ...] = ()
    license: str | None = None
    text: str = ""
    where: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.files or self.license or self.text)

    @property
    def card_text(self) -> str:
        """The licence section of a model card trained on this data (``""`` when nothing is known)."""
        if not self:
            return ""
        head = f"The training data's licence: {self.license}. " if self.license else ""
        body = f"The training data's terms ({', '.join(self.where)}):\n\n{self.text.strip()}\n\n" if self.text else ""
        return (f"{head}{body}These weights were trained on that data and carry the same terms; check them "
                "before any use the terms do not allow.")

    def write(self, folder: str | Path) -> list[Path]:
        """Copy the files into ``folder/ATTRIBUTION/`` (plus ``TERMS.md`` for terms given in words); the paths."""
        if not self:
            return []
        out = Path(folder) / "ATTRIBUTION"
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for f in self.files:
            written.append(Path(shutil.copy2(f, out / f.name)))
        if self.license or (self.text and not self.files):
            lines = [f"Licence of the source data: {self.license}" if self.license else "", self.text.strip()]
            (out / "TERMS.md").write_text("\n\n".join(t for t in lines if t) + "\n", encoding="utf-8")
            written.append(out / "TERMS.md")
        return written


def _card_license(readme: Path) -> str | None:
    """The ``license:`` of a dataset card's YAML front matter (``---`` ... ``---``), or None."""
    text = readme.read_text(encoding="utf-8", errors="replace")
    match = re.match(r"\A---\s*\n(.*?)\n---\s*(\n|\Z)", text, re.S)
    if not match:
        return None
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return None
    value = meta.get("license") if isinstance(meta, dict) else None
    if isinstance(value, list):
        value = ", ".join(map(str, value))
    return str(value) if value else None


def _section_for(text: str, name: str) -> str:
    """The Markdown section of a shared ``SOURCES.md`` whose heading names ``name`` (else the whole text)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        heading = re.match(r"(#+)\s", line)
        if heading and re.search(rf"(^|[\s`/(]){re.escape(name)}([\s`/)]|$)", line[heading.end():]):
            level = len(heading.group(1))
            end = next((j for j in range(i + 1, len(lines))
                        if (m := re.match(r"(#+)\s", lines[j])) and len(m.group(1)) <= level), len(lines))
            return "\n".join(lines[i:end]).strip()
    return text.strip()


def find_data_terms(path: str | Path | None, *, license: str | None = None, terms: str | None = None) -> DataTerms:
    """Find a dataset's terms (see the module docstring); ``license``/``terms`` are added as given.

    ``terms`` is the terms in words, or the path of a file holding them (then copied too). Returns a
    :class:`DataTerms` that is false when nothing was found or given.
    """
    files: list[Path] = []
    texts: list[str] = []
    where: list[str] = []
    card_license = None
    if path is not None:
        p = Path(path)
        root = p if p.is_dir() else p.parent
        for folder in dict.fromkeys((root, root.parent)):
            found = [folder / n for n in ATTRIBUTION_NAMES if (folder / n).is_file()]
            for f in found:
                text = f.read_text(encoding="utf-8", errors="replace")
                texts.append(_section_for(text, root.name) if folder != root else text.strip())
                where.append(str(f))
            files += found
        if (root / "README.md").is_file():
            card_license = _card_license(root / "README.md")
            if card_license:
                files.append(root / "README.md")
                where.append(f"{root / 'README.md'} (license: {card_license})")
    if terms:
        as_file = Path(terms)
        if len(terms) < 4096 and "\n" not in terms and as_file.is_file():
            files.append(as_file)
            texts.append(as_file.read_text(encoding="utf-8", errors="replace").strip())
            where.append(str(as_file))
        else:
            texts.append(terms.strip())
            where.append("given with --data-terms")
    return DataTerms(tuple(dict.fromkeys(files)), license or card_license, "\n\n".join(texts), where)


def missing_terms_message(path: str | Path) -> str:
    """The one line said when a dataset's terms cannot be found."""
    return (f"no licence or terms found for {path} (looked for {LOOKED_FOR}): what you make from it will not say "
            "under which terms it may be used; pass --data-license ID and/or --data-terms TEXT_OR_FILE")
