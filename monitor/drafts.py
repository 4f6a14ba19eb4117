"""Support-request drafts: one text file per problem under `state_dir/drafts`, ready to paste
into the seller-cabinet chat. A resolved problem's draft is kept and marked resolved."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from monitor.i18n import LANGUAGES

# A resolved draft's first line starts with its language's mark ("[РЕШЕНО] ").
RESOLVED_MARK = {code: lang.words["draft_resolved"] for code, lang in LANGUAGES.items()}


@dataclass(frozen=True)
class Draft:
    path: Path
    subject: str
    resolved: bool

    @property
    def name(self) -> str:
        return self.path.stem


def folder(state_dir: Path) -> Path:
    return state_dir / "drafts"


def save(state_dir: Path, rule: str, account: str, fingerprint: str, text: str) -> Path:
    """Write the draft of one problem, or rewrite it when its text changed; return its path."""
    directory = folder(state_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{rule}-{account}-{fingerprint}.txt"
    text = text.rstrip("\n") + "\n"
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return path
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def mark_resolved(state_dir: Path, fingerprint: str, line: str) -> Path | None:
    """Put `line` (when and how the problem ended) on top of the problem's draft, once."""
    path = next(iter(folder(state_dir).glob(f"*-{fingerprint}.txt")), None) if folder(state_dir).exists() else None
    if path is None:
        return None
    text = path.read_text(encoding="utf-8")
    if not any(text.startswith(mark) for mark in RESOLVED_MARK.values()):
        path.write_text(f"{line}\n\n{text}", encoding="utf-8")
    return path


def listed(state_dir: Path) -> list[Draft]:
    """Every draft, oldest first, with its subject line."""
    directory = folder(state_dir)
    paths = sorted(directory.glob("*.txt"), key=lambda p: p.stat().st_mtime) if directory.exists() else []
    drafts = []
    for path in paths:
        lines = path.read_text(encoding="utf-8").splitlines()
        resolved = bool(lines) and any(lines[0].startswith(mark) for mark in RESOLVED_MARK.values())
        body = lines[2:] if resolved else lines
        drafts.append(Draft(path, body[2] if len(body) > 2 else "", resolved))  # after the instruction and a blank
    return drafts


def find(state_dir: Path, key: str) -> list[Draft]:
    """Drafts whose file name or fingerprint starts with `key`."""
    return [d for d in listed(state_dir) if d.name.startswith(key) or d.name.rsplit("-", 1)[-1].startswith(key)]


def prune(state_dir: Path, before: datetime) -> int:
    """Delete resolved drafts last written before `before`; return how many."""
    removed = 0
    for draft in listed(state_dir):
        if draft.resolved and draft.path.stat().st_mtime < before.timestamp():
            draft.path.unlink(missing_ok=True)
            removed += 1
    return removed
