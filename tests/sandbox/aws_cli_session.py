"""Runs `aws` commands one after another in one process of the AWS CLI's own Python.

Each line on stdin is a command's arguments (a JSON list, without `aws`); each is run by
`awscli.clidriver.main()`, the function the `aws` script calls, with a fresh driver and botocore
session, as a new `aws` process would. The answer is one JSON line: exit code, stdout, stderr.
What this saves is the interpreter's start-up and the CLI's imports, about 0.2 s per command.

    <the CLI's python> tests/sandbox/aws_cli_session.py
"""

import contextlib
import io
import json
import sys

import awscli.clidriver


def run(args: list[str]) -> dict:
    stdout, stderr = io.StringIO(), io.StringIO()
    sys.argv = ["aws", *args]
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = awscli.clidriver.main()
        except SystemExit as exit_:  # argparse's usage errors
            code = exit_.code if isinstance(exit_.code, int) else 255
    return {"returncode": code, "stdout": stdout.getvalue(), "stderr": stderr.getvalue()}


def main() -> None:
    answers = sys.__stdout__
    for line in sys.stdin:
        answers.write(json.dumps(run(json.loads(line))) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
