"""What the Dockerfile puts into the image, read from the Dockerfile itself.

No Docker engine runs here, so the image's application folder is rebuilt by reading
the Dockerfile (``WORKDIR``, ``ENV``, ``COPY``, the ``chown`` of the data folder,
``USER``, ``CMD``, and what ``pip install`` is given) and honouring ``.dockerignore`` with the rules of Docker's own
matcher (moby/patternmatcher: last matching line wins, a line matching a parent
folder matches everything below it, ``!`` re-includes). Anything this small parser
does not understand (wildcard sources, ``--from``, ``ADD``) raises, so the test
cannot pass by quietly skipping part of the Dockerfile.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath


@dataclass(frozen=True)
class IgnoreRule:
    regex: re.Pattern[str]
    exclusion: bool  # a "!" line: re-include what earlier lines excluded


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """Translate one pattern as moby's patternmatcher does (``**`` spans folders)."""
    out, i = "^", 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            if pattern[i + 1 : i + 2] == "*":
                i += 1
                if pattern[i + 1 : i + 2] == "/":
                    i += 1
                out += ".*" if i + 1 >= len(pattern) else "(.*/)?"
            else:
                out += "[^/]*"
        elif ch == "?":
            out += "[^/]"
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        elif ch == "[":
            end = pattern.find("]", i)
            if end < 0:
                raise ValueError(f"unterminated class in .dockerignore pattern {pattern!r}")
            out += pattern[i : end + 1]
            i = end
        else:
            out += re.escape(ch)
        i += 1
    return re.compile(out + "$")


def read_dockerignore(path: Path) -> list[IgnoreRule]:
    rules: list[IgnoreRule] = []
    if not path.exists():
        return rules
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        if exclusion:
            line = line[1:].strip()
        cleaned = str(PurePosixPath(line)).lstrip("/")  # Docker cleans the path, drops a leading "/"
        rules.append(IgnoreRule(_pattern_regex(cleaned), exclusion))
    return rules


def ignored(rules: list[IgnoreRule], relative: str) -> bool:
    """moby's MatchesOrParentMatches: the file itself or any of its parent folders."""
    parts = relative.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    matched = False
    for rule in rules:
        if rule.exclusion != matched:  # only a rule that could change the verdict is evaluated
            continue
        if any(rule.regex.match(candidate) for candidate in candidates):
            matched = not rule.exclusion
    return matched


@dataclass
class Dockerfile:
    workdir: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    copies: list[tuple[list[str], str]] = field(default_factory=list)  # (sources, destination in the image)
    chowned: list[str] = field(default_factory=list)  # folders handed to the app's user
    user: str = "root"
    cmd: list[str] = field(default_factory=list)
    pip_installs: list[list[str]] = field(default_factory=list)  # the arguments of each `pip install`


def _instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) with line continuations joined and comments dropped."""
    joined: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if pending and line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    result = []
    for line in joined:
        keyword, _, args = line.strip().partition(" ")
        result.append((keyword.upper(), args.strip()))
    return result


def _in_workdir(workdir: str, path: str) -> str:
    return str(PurePosixPath(workdir) / path) if not path.startswith("/") else path


def read_dockerfile(path: Path) -> Dockerfile:
    parsed = Dockerfile()
    for keyword, args in _instructions(path.read_text(encoding="utf-8")):
        if keyword == "WORKDIR":
            parsed.workdir = _in_workdir(parsed.workdir, args)
        elif keyword == "ENV":
            for item in shlex.split(args):
                name, _, value = item.partition("=")
                parsed.env[name] = value
        elif keyword == "ADD":
            raise ValueError("ADD is not understood by this reader; use COPY")
        elif keyword == "COPY":
            words = shlex.split(args)
            if any(word.startswith("--") for word in words) or args.startswith("["):
                raise ValueError(f"COPY form not understood by this reader: {args}")
            sources, dest = words[:-1], words[-1]
            if any(ch in source for source in sources for ch in "*?["):
                raise ValueError(f"wildcard COPY sources are not understood by this reader: {args}")
            target = _in_workdir(parsed.workdir, dest)
            if dest.endswith("/") or len(sources) > 1:
                target += "/"
            parsed.copies.append((sources, target))
        elif keyword == "RUN":
            for command in re.split(r"&&|;", args.split("#", 1)[0]):
                words = shlex.split(command)
                if words[:1] == ["chown"]:
                    parsed.chowned += [_in_workdir(parsed.workdir, w) for w in words[2:] if not w.startswith("-")]
                elif "install" in words and words[: words.index("install")] in (["pip"], ["python", "-m", "pip"]):
                    parsed.pip_installs.append(words[words.index("install") + 1 :])
        elif keyword == "USER":
            parsed.user = args
        elif keyword == "CMD":
            parsed.cmd = json.loads(args)
    return parsed


def assemble(context: Path, dockerfile: Dockerfile, app_root: Path) -> list[str]:
    """Copy what the COPY lines take from the build context into ``app_root`` (the image's
    WORKDIR); returns the copied files relative to ``app_root``."""
    rules = read_dockerignore(context / ".dockerignore")
    copied: list[str] = []
    for sources, target in dockerfile.copies:
        inside = PurePosixPath(target.rstrip("/")).relative_to(dockerfile.workdir)
        for source in sources:
            origin = context / source
            if ignored(rules, source.rstrip("/")) and not origin.is_dir():
                raise FileNotFoundError(f"COPY {source}: excluded by .dockerignore, the build would fail")
            if origin.is_dir():
                files = [p for p in sorted(origin.rglob("*")) if p.is_file()]
                kept = [p for p in files if not ignored(rules, p.relative_to(context).as_posix())]
                if not kept:
                    raise FileNotFoundError(f"COPY {source}: nothing left after .dockerignore")
                for file in kept:
                    destination = app_root / inside / file.relative_to(origin)
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(file, destination)
                    copied.append(destination.relative_to(app_root).as_posix())
            else:
                destination = app_root / inside / origin.name if target.endswith("/") else app_root / inside
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, destination)
                copied.append(destination.relative_to(app_root).as_posix())
    return copied
