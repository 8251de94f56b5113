"""Seeds beyond what torch's 64-bit generators hold are one line (generate --seed 2**70 was
'Overflow when unpacking long long')."""
import pytest

from studio import cli


@pytest.mark.parametrize("argv", [["generate", "no-run", "--seed", str(2 ** 70)], ["generate", "no-run", "--seed", "-1"],
                                  ["race", "2019-02-gpt-2", "2023-07-llama-2", "--seed", str(2 ** 63)],
                                  ["lesson", "prepare", "--seed", str(2 ** 70), "--steps", "1"]])
def test_a_seed_out_of_range_is_one_line(argv, capsys, tmp_path):
    assert cli.main([*argv, *(["--out", str(tmp_path / "o")] if argv[0] != "generate" else [])]) == 2
    err = capsys.readouterr().err
    assert "--seed must be from 0 to" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
