"""What the release workflow (.github/workflows/release.yml) does besides running docker, git and gh.

Standard library only: it runs on the bare runner, before and after the image exists.

    release.py check-ref REF SHA DEFAULT_BRANCH TIP
        exit 0 only when the run is on the default branch (REF is refs/heads/DEFAULT_BRANCH) and at its tip
        (SHA, the run's commit, is TIP, the branch's head as GitHub answers it now); otherwise one line, exit 2.
    release.py check-packages requirements.lock batch-review==X.Y.Z  < `pip list --format=freeze` of an image
        exit 0 when the image holds exactly the locked packages at their locked versions, plus the project
        itself and the base image's pip and wheel; otherwise one line per difference, exit 1.
    release.py dockerfile IMAGE@sha256:DIGEST VERSION > docker/release.Dockerfile
        the Dockerfile of the release's action: FROM the published image by digest, nothing else, so a
        workflow run pulls the image instead of building it.
    release.py point-action action.yml docker/release.Dockerfile
        makes the action run that Dockerfile instead of the source one.
    release.py pin OWNER/REPO COMMIT VERSION FILE...
        fills in the release's placeholders, `batch-review/batch-review[/path]@<40 zeros> # VERSION (pinned by
        the release)`, as `OWNER/REPO[/path]@COMMIT # VERSION`: the examples and the README name the commit
        whose action pulls the image. Every file must hold one, all for VERSION, and no zero pin may be left.

The source Dockerfile (image: Dockerfile) stays in every commit: forks and GitHub Enterprise Server users
whose runners cannot reach the registry use a commit whose action.yml still names it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# Installed by the base image (python:…-slim), not by the lock; allowed unless the lock pins them.
BASE_TOOLS = {"pip", "wheel", "setuptools"}
SOURCE_IMAGE_LINE = "  image: Dockerfile\n"
IMAGE_REF = re.compile(r"ghcr\.io/[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)+@sha256:[0-9a-f]{64}")
VERSION = re.compile(r"v[0-9]+\.[0-9]+\.[0-9]+")
PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")
COMMIT = re.compile(r"[0-9a-f]{40}")
REPOSITORY = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
PLACEHOLDER = re.compile(r"batch-review/batch-review(?P<path>(?:/[A-Za-z0-9._-]+)*)@0{40}"
                         r" # (?P<version>v[0-9]+\.[0-9]+\.[0-9]+) \(pinned by the release\)")
ZERO_PIN = re.compile(r"@0{40}(?![0-9a-f])")


class ReleaseError(ValueError):
    """A release input that cannot be used (one line)."""


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str, source: str) -> dict[str, str]:
    """name -> version of the `name==version` lines (lock lines start with them; freeze prints only them)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        match = PIN.match(line)
        if match:
            name = normalize(match[1])
            if name in out and out[name] != match[2]:
                raise ReleaseError(f"{source}: {name} is pinned twice ({out[name]}, {match[2]})")
            out[name] = match[2]
    return out


def package_differences(lock_text: str, freeze_text: str, project: str) -> list[str]:
    """What the installed packages (`pip list --format=freeze`) have that the lock does not say, and back."""
    locked = pins(lock_text, "requirements.lock")
    installed = pins(freeze_text, "the image")
    if not locked:
        return ["requirements.lock pins no package"]
    name, _, version = project.partition("==")
    if not version:
        raise ReleaseError(f"project {project!r} is not NAME==VERSION")
    problems = []
    for pkg, want in sorted(locked.items()):
        have = installed.get(pkg)
        if have != want:
            problems.append(f"{pkg}: requirements.lock has {want}, the image {have or 'nothing'}")
    for pkg, have in sorted(installed.items()):
        if pkg == normalize(name):
            if have != version:
                problems.append(f"{pkg}: the image has {have}, the release is {version}")
        elif pkg not in locked and pkg not in BASE_TOOLS:
            problems.append(f"{pkg}=={have} is in the image but not in requirements.lock")
    if normalize(name) not in installed:
        problems.append(f"{name} itself is not installed in the image")
    return problems


def release_dockerfile(image: str, version: str) -> str:
    if not IMAGE_REF.fullmatch(image):
        raise ReleaseError(f"image {image!r} is not ghcr.io/OWNER/NAME@sha256:<64 hex digits>")
    if not VERSION.fullmatch(version):
        raise ReleaseError(f"version {version!r} is not vMAJOR.MINOR.PATCH")
    return (
        f"# batch-review {version}: the image the release workflow built from the Dockerfile (tag {version}-source)\n"
        "# and published; by digest, so a workflow run pulls it instead of building it. Generated by\n"
        f"# docker/release.py. To build from source instead, use the action at the tag {version}-source.\n"
        f"FROM {image}\n"
    )


def point_action(action_text: str, dockerfile: str) -> str:
    if action_text.count(SOURCE_IMAGE_LINE) != 1:
        raise ReleaseError(f"action.yml: expected exactly one line {SOURCE_IMAGE_LINE.strip()!r}")
    if not re.fullmatch(r"docker/[A-Za-z0-9.]+", dockerfile):
        raise ReleaseError(f"dockerfile {dockerfile!r} is not a file under docker/")
    return action_text.replace(SOURCE_IMAGE_LINE, f"  image: {dockerfile}\n")


def check_ref(ref: str, sha: str, default_branch: str, tip: str) -> str:
    """The run's ref and commit must be the default branch and its tip; a line saying so, or ReleaseError."""
    if not default_branch:
        raise ReleaseError("the event names no default branch")
    if ref != f"refs/heads/{default_branch}":
        raise ReleaseError(f"the release runs from {ref!r}, not from the default branch: run it on {default_branch!r}")
    if not COMMIT.fullmatch(sha):
        raise ReleaseError(f"the run's commit {sha!r} is not a full commit id")
    if not COMMIT.fullmatch(tip):
        raise ReleaseError(f"the tip of {default_branch!r} is unknown ({tip!r})")
    if sha != tip:
        raise ReleaseError(f"the run's commit {sha[:12]} is not the tip of {default_branch!r} ({tip[:12]}): "
                           "run the release again, on the tip")
    return f"releasing {sha}, the tip of {default_branch}"


def pin(text: str, repository: str, commit: str, version: str, source: str) -> str:
    """The text with every release placeholder pinned to `repository@commit # version`."""
    if not REPOSITORY.fullmatch(repository):
        raise ReleaseError(f"repository {repository!r} is not OWNER/NAME")
    if not COMMIT.fullmatch(commit):
        raise ReleaseError(f"commit {commit!r} is not 40 lowercase hex digits")
    if not VERSION.fullmatch(version):
        raise ReleaseError(f"version {version!r} is not vMAJOR.MINOR.PATCH")

    def filled(match: re.Match) -> str:
        if match["version"] != version:
            raise ReleaseError(f"{source}: a placeholder is for {match['version']}, not {version}")
        return f"{repository}{match['path']}@{commit} # {version}"

    out, count = PLACEHOLDER.subn(filled, text)
    if count == 0:
        raise ReleaseError(f"{source}: no release placeholder to pin")
    if ZERO_PIN.search(out):
        raise ReleaseError(f"{source}: a zero pin is left that is not a release placeholder")
    return out


def main(argv: list[str]) -> int:
    try:
        match argv:
            case ["check-packages", lock, project]:
                problems = package_differences(Path(lock).read_text(), sys.stdin.read(), project)
                for problem in problems:
                    print(f"::error::{problem}")
                if not problems:
                    print(f"the image holds exactly the {len(pins(Path(lock).read_text(), lock))} locked packages")
                return 1 if problems else 0
            case ["dockerfile", image, version]:
                sys.stdout.write(release_dockerfile(image, version))
                return 0
            case ["point-action", action, dockerfile]:
                path = Path(action)
                path.write_text(point_action(path.read_text(), dockerfile))
                return 0
            case ["check-ref", ref, sha, default_branch, tip]:
                print(check_ref(ref, sha, default_branch, tip))
                return 0
            case ["pin", repository, commit, version, *files] if files:
                pinned = {path: pin(Path(path).read_text(), repository, commit, version, path) for path in files}
                for path, text in pinned.items():  # all checked before any is written
                    Path(path).write_text(text)
                return 0
            case _:
                print(__doc__, file=sys.stderr)
                return 2
    except (ReleaseError, OSError) as exc:
        print(f"::error::{exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
