"""The site folder, published in one step so a reader never sees half a run.

The site folder (default `site/`) is a symbolic link to the newest complete build, kept
beside it in `.<name>.versions/<build>/`. A run writes every page into a new build folder, then
points the link at it with one atomic rename: a reader (a web server, a file share, a browser)
finds either the whole old site or the whole new one. The previous build is kept, so a page
already open keeps working; older ones are removed. Serve the link as a folder
(`python -m http.server -d site`); web servers follow it.

The delivery report is written by the delivery step into the current build
(:meth:`SiteFolder.page`); a new build carries it over until the delivery step writes it again.
A real folder at the site's path (from an older version, or made by hand) is taken over once
when it holds nothing but the site's own files; a folder with anything else in it is never
touched, and the run says which setting to change.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from impacting.errors import ActionableError
from impacting.people.paths import BRIEFS, DELIVERY, INDEX, TEAMS
from impacting.settings import var

# What a site folder may hold; anything else means the folder is somebody else's.
LAYOUT = frozenset({INDEX, DELIVERY, BRIEFS, TEAMS})
# Files a new build takes over from the current one when the run did not write them.
CARRIED = (DELIVERY,)
KEEP_BUILDS = 2


class SiteNotWritten(ActionableError, OSError):
    """The site folder cannot be written, or belongs to someone else; the message says what to do."""


@dataclass(frozen=True)
class PublishedSite:
    path: Path         # the site's path (the link)
    build: Path        # the folder it now points at
    files: int


class SiteFolder:
    """The site at `path`: a link to the newest build in `.<name>.versions/`."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.builds = self.path.with_name(f".{self.path.name}.versions")

    def current(self) -> Path | None:
        """The build the site points at now (None before the first)."""
        if self.path.is_symlink():
            target = self.path.resolve()
            return target if target.is_dir() else None
        return None

    def page(self, relative: str) -> Path:
        """Where a single page is written in place (the delivery report): through the link, in
        the current build, creating an empty build first when there is none."""
        if self.current() is None:
            self._swap(self._new_build())
        return self.path / relative

    def publish(self, files: Mapping[str, str]) -> PublishedSite:
        """Write `files` (relative path → text) as a new build and switch the site to it in one
        step; files in `CARRIED` that this build lacks are taken over from the current one."""
        build = self._new_build()
        try:
            for relative, text in files.items():
                target = build / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
            current = self.current()
            for relative in CARRIED:
                if relative not in files and current is not None and (current / relative).is_file():
                    shutil.copy2(current / relative, build / relative)
            self._swap(build)
        except SiteNotWritten:
            shutil.rmtree(build, ignore_errors=True)
            raise
        except OSError as error:
            shutil.rmtree(build, ignore_errors=True)
            raise SiteNotWritten(
                f"could not publish the site to {self.path} ({error.strerror or error}); make "
                f"{self.path.parent} writable or set {var('site.site_dir')} to a writable folder"
            ) from error
        self._prune(keep=build)
        return PublishedSite(self.path, build, len(files))

    def _new_build(self) -> Path:
        build = self.builds / f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"
        try:
            build.mkdir(parents=True)
        except OSError as error:
            raise SiteNotWritten(
                f"could not create {build} ({error.strerror or error}); make {self.path.parent} "
                f"writable or set {var('site.site_dir')} to a writable folder") from error
        return build

    def _swap(self, build: Path) -> None:
        """Point the site at `build` atomically (a new link renamed over the old one)."""
        self._adopt_folder()
        link = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.link")
        os.symlink(os.path.relpath(build, self.path.parent), link, target_is_directory=True)
        try:
            os.replace(link, self.path)
        finally:
            if link.is_symlink():
                link.unlink()

    def _adopt_folder(self) -> None:
        """A real folder (or file) where the link goes: take over a folder of the site's own
        files once; refuse anything else rather than delete it."""
        if self.path.is_symlink() and self.current() is not None \
                and self.path.resolve().parent != self.builds.resolve():
            raise self._not_ours(f"is a link to {self.path.resolve()}, a folder impacting did not make")
        if self.path.is_symlink() or not self.path.exists():
            return
        if not self.path.is_dir():
            raise self._not_ours("is a file")
        foreign = sorted(p.name for p in self.path.iterdir() if p.name not in LAYOUT
                         and not p.name.startswith(f".{DELIVERY}."))
        if foreign:
            raise self._not_ours(f"holds files impacting did not write ({', '.join(foreign[:5])})")
        os.replace(self.path, self.builds / f"adopted-{uuid.uuid4().hex[:8]}")

    def _not_ours(self, what: str) -> SiteNotWritten:
        return SiteNotWritten(
            f"the site folder {self.path} {what}; each run replaces the whole site folder, so set "
            f"{var('site.site_dir')} to a new or empty folder (or move those files away)")

    def _prune(self, keep: Path) -> None:
        """Remove builds older than the newest `KEEP_BUILDS` (never the one in use)."""
        builds = sorted((p for p in self.builds.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
        for old in builds[:-KEEP_BUILDS]:
            if old != keep:
                shutil.rmtree(old, ignore_errors=True)
