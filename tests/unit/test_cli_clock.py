import json

from aap.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    return code, capsys.readouterr()


def test_clock_set_show_and_back_to_real(provisioned, data_dir, capsys):
    url = provisioned.url
    code, out = run(capsys, "clock", "show", "--nats-url", url, "--data-dir", str(data_dir))
    assert code == 0 and json.loads(out.out)["clock"] == "real"

    code, out = run(capsys, "clock", "set", "2021-05-14T23:59:59+02:00", "--nats-url", url, "--data-dir", str(data_dir))
    set_answer = json.loads(out.out)
    assert code == 0 and set_answer["clock"] == "2021-05-14T23:59:59+02:00"

    code, out = run(capsys, "clock", "show", "--nats-url", url, "--data-dir", str(data_dir))
    shown = json.loads(out.out)
    assert shown["clock"] == "2021-05-14T23:59:59+02:00" and shown["revision"] == set_answer["revision"]

    run(capsys, "clock", "real", "--nats-url", url, "--data-dir", str(data_dir))
    code, out = run(capsys, "clock", "show", "--nats-url", url, "--data-dir", str(data_dir))
    assert json.loads(out.out)["clock"] == "real"


def test_an_instant_without_offset_is_read_in_the_calls_timezone(provisioned, data_dir, capsys):
    code, out = run(
        capsys, "clock", "set", "2021-12-31T23:59:59", "--nats-url", provisioned.url, "--data-dir", str(data_dir)
    )
    assert json.loads(out.out)["clock"] == "2021-12-31T23:59:59+01:00"


def test_a_bad_instant_or_unreachable_nats_is_an_error(capsys, tmp_path):
    code, out = run(capsys, "clock", "set", "tomorrow", "--nats-url", "nats://127.0.0.1:1")
    assert code == 2 and "tomorrow" in out.err
    code, out = run(capsys, "clock", "show", "--nats-url", "nats://127.0.0.1:1")
    assert code == 3 and "NATS injoignable" in out.err and len(out.err.strip().splitlines()) == 1
