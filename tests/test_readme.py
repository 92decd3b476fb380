import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_quickstart_has_the_two_commands_and_ci_runs_the_test_one():
    text = README.read_text()
    quickstart = text.split("## Quickstart", 1)[1].split("##", 1)[0]
    commands = re.findall(r"^make \w+", quickstart, flags=re.M)
    assert commands == ["make results", "make test"]
    ci = (README.parent / ".ci" / "run").read_text()
    assert "make test" in ci


def test_reuse_snippets_run(tmp_path, monkeypatch):
    section = README.read_text().split("## Use a zoo model in another project", 1)[1]
    section = section.split("\n## ", 1)[0]
    snippets = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(snippets) == 2  # build, train, save and load; then the Trainer
    monkeypatch.chdir(tmp_path)  # the first saves mlp.keras in the working directory
    namespace = {}
    for snippet in snippets:  # the second goes on with the first one's data
        exec(compile(snippet, str(README), "exec"), namespace)
    assert (tmp_path / "mlp.keras").exists()
    assert namespace["trainer"].compiled == 1 and namespace["trainer"].runs == 3


def test_every_command_example_is_accepted_by_the_command_line():
    import shlex

    from experiments import runner

    section = README.read_text().split("## Running experiments", 1)[1].split("##", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.S).group(1)
    examples = [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]
    assert len(examples) >= 10
    parser = runner._parser()
    for example in examples:
        words = shlex.split(example)
        while "=" in words[0]:  # an environment variable, such as KERAS_BACKEND=jax
            words.pop(0)
        if words[:3] == ["python", "-m", "experiments"]:
            argv = words[3:]
        else:  # python experiments/NAME.py ...
            argv = ["run", Path(words[1]).stem, *words[2:]]
        args = parser.parse_args(argv)  # raises UsageError on an option that does not exist
        if args.command == "run":
            for name in args.names if args.names != ["all"] else []:
                runner.experiments.check_name(name)
            runner.split_pairs(args.settings)
