"""One root error with an exit code; the CLI prints ``str(err)`` on one line and exits."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Documented in the README; stable for CI pipelines."""

    OK = 0
    FINDINGS = 1
    """A finding at or above ``--fail-on`` (not accepted by the baseline)."""
    USAGE = 2
    """A wrong flag or value (typer's own usage errors share it)."""
    BAD_RULES = 3
    """A rule file failed validation."""
    NOT_FOUND = 4
    """An input path does not exist or cannot be opened."""
    NOT_APK = 5
    """The file is not an APK (not a ZIP, no AndroidManifest.xml, an app bundle)."""
    BROKEN_APK = 6
    """The file looks like an APK but cannot be read (or exceeds a limit)."""
    SCAN_ERROR = 7
    """Several inputs failed in different ways, or an internal error."""
    OUTPUT = 8
    """A report cannot be written: the output folder is read-only or not a folder, a
    symlink stands where a report goes, ``-o FILE`` exists, or another run holds the
    output folder's lock."""


class ApkscanError(Exception):
    exit_code: ExitCode = ExitCode.SCAN_ERROR


class UsageError(ApkscanError):
    exit_code = ExitCode.USAGE


class RuleLoadError(ApkscanError):
    exit_code = ExitCode.BAD_RULES


class InputNotFound(ApkscanError):
    exit_code = ExitCode.NOT_FOUND


class NotAnApk(ApkscanError):
    exit_code = ExitCode.NOT_APK


class BrokenApk(ApkscanError):
    exit_code = ExitCode.BROKEN_APK


class OutputError(ApkscanError):
    exit_code = ExitCode.OUTPUT
