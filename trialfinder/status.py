"""Exit statuses of the trialfinder command."""

from enum import IntEnum


class ExitStatus(IntEnum):
    """What the process exit code means."""

    SUCCESS = 0  # done; zero results is a success too
    ERROR = 1  # a service failed: ClinicalTrials.gov, the mail server, the state file
    USAGE = 2  # bad input or configuration: fix the command or the file
    INTERRUPTED = 130  # Ctrl-C
