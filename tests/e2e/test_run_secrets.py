"""`make run` passes no secret on a command line (issue 14, finding 6): `ps` shows every process's
arguments to every user of the machine. The demo password reaches `demo_setup` in its environment
(tests/accounts/test_privileges.py tests the command's side)."""

import importlib.util

from tests.conftest import ROOT

SECRET = "not-on-the-command-line-4711"


def _run_module():
    spec = importlib.util.spec_from_file_location("make_run", ROOT / "scripts" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_run_starts_nothing_with_the_demo_password_in_its_arguments(monkeypatch):
    run = _run_module()
    commands = []

    def manage(*args, env):
        commands.append((args, env))

    def spawn(name, args, env):  # the first long-running child: stop here, like Ctrl-C
        commands.append((tuple(args), env))
        raise KeyboardInterrupt

    monkeypatch.setenv("WLPANEL_DEMO_PASSWORD", SECRET)
    monkeypatch.setenv("WLPANEL_AWS_ENDPOINT", "aws")  # no sandbox to start
    monkeypatch.setattr(run, "ensure_local_database", lambda env: None)
    monkeypatch.setattr(run, "manage", manage)
    monkeypatch.setattr(run, "spawn", spawn)
    monkeypatch.setattr(run.signal, "signal", lambda *args: None)
    assert run.main() == 0
    assert any(args[0] == "demo_setup" for args, _ in commands)
    for args, _env in commands:
        assert not any(SECRET in str(arg) for arg in args), args
    demo_env = next(env for args, env in commands if args[0] == "demo_setup")
    assert demo_env["WLPANEL_DEMO_PASSWORD"] == SECRET

