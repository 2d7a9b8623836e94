from liquidcare import cli
from liquidcare.train import doctor


def test_two_processes_all_reduce_over_gloo():
    check = doctor.all_reduce_check(world=2, backend="gloo")
    assert check.status == "ok", check.detail
    assert "every rank got 3" in check.detail


def test_doctor_prints_every_check_and_exits_zero_here(capsys):
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    for name in ("torch", "transformers", "ncps", "device", "embedded model", "all_reduce"):
        assert name in out
    assert "all checks passed" in out


def test_doctor_fails_with_a_named_check(monkeypatch, capsys):
    monkeypatch.setattr(doctor, "_version", lambda package: None if package == "ncps" else "1")
    assert cli.main(["doctor", "--no-distributed"]) == 1
    captured = capsys.readouterr()
    assert "FAIL  ncps" in captured.out and "pip install ncps" in captured.out
    assert "ncps" in captured.err
