"""`repro`: list, inspect, run and compare reproductions of the lecture's claims.

This file is intentionally thin: the work is in ``keras_repro.suite`` (``registry``, ``runner`` and ``results``).
Keras is imported only inside commands, after ``--backend`` has been applied.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # user-facing output: no C++ notices (set before keras)

from keras_repro import _env  # noqa: E402
from keras_repro.data import commands as data_commands  # noqa: E402  (imports TensorFlow lazily)


PROFILE_HELP = ("smoke: seconds, for tests (verdicts inconclusive); default: real verdicts within ~3 min each on "
                "a 2-core CPU; full: paper-scale settings and real datasets (GPU).")


def _registry():
    keras = _env.import_keras_quietly()
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")  # retracing notices for the many tiny models reproductions build
    from keras_repro.suite import registry

    for module, error in registry.broken_modules().items():
        click.echo(f"warning: reproduction module {module} failed to import: {error}", err=True)
    return registry


def _fail(message: str, code: int = 1):
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="keras-repro", prog_name="repro")
def main():
    """Reproduce the classic claims of deep learning and see, with numbers, whether they hold.

    \b
    Typical session:
      repro list                      every reproduction with its claim IDs
      repro show vgg_progressive      the claims, their rules, the config, the latest verdicts
      repro run vgg_progressive       train, measure, and print a verdict per claim
      repro compare xor@latest results/xor/<run_id>

    Each run writes results/NAME/<run_id>/ with claims.csv (verdict per claim), the other tables
    (CSV + Markdown), plots, models (.keras) and run.json (status and provenance).
    """


@main.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (name, title, claims, module).")
def list_cmd(as_json: bool):
    """List every reproduction with its title and claim IDs."""
    registry = _registry()
    repros = registry.all_reproductions()
    if as_json:
        click.echo(json.dumps([{"name": r.name, "title": r.title, "claims": r.claim_ids, "module": r.module}
                               for r in repros], indent=2))
        return
    width = max(len(r.name) for r in repros)
    for r in repros:
        click.echo(f"{r.name:<{width}}  {', '.join(r.claim_ids):<22} {r.title}")


@main.command()
@click.argument("name")
@click.option("--results-dir", type=click.Path(path_type=Path), default=Path("results"), show_default=True,
              help="Where to look for earlier runs.")
def show(name: str, results_dir: Path):
    """Show a reproduction's claims (statement and rule), its config, and the latest verdicts."""
    registry = _registry()
    from keras_repro.suite import config as config_mod
    from keras_repro.suite import results

    try:
        repro = registry.get(name)
    except registry.UnknownReproduction as exc:
        _fail(str(exc), 2)
    click.secho(f"{repro.name}: {repro.title}", bold=True)
    if repro.description:
        click.echo("\n" + repro.description + "\n")
    for claim in repro.claims:
        click.secho(f"{claim.id}", bold=True, nl=False)
        click.echo(f"  {claim.statement}")
        click.echo(f"      rule: {claim.rule.describe()}")
        for pre in claim.preconditions:
            click.echo(f"      precondition: {pre.describe()}")
        for effect in claim.effects:
            click.echo(f"      effect: {effect.describe()}")
        if claim.erratum:
            click.echo("      a failed rule is an erratum in the notes")
        if claim.note:
            click.echo(f"      note: {claim.note}")
    click.echo("\nconfig (default profile; change with --set key=value):")
    for field in config_mod.describe_fields(repro.config):
        changes = ", ".join(f"{p}={repro.config.PROFILES[p][field.name]!r}" for p in ("smoke", "full")
                            if field.name in repro.config.PROFILES.get(p, {}))
        kind = field.type + (f", {field.accepts}" if field.accepts else "")
        click.echo(f"  {field.name} ({kind}) = {field.default!r}" + (f"   [{changes}]" if changes else ""))
        if field.help:
            click.echo(f"      {field.help}")
    runs, problems = results.list_runs(results_dir, repro.name)
    for problem in problems:
        click.echo(f"warning: skipped a run folder: {problem}", err=True)
    for later in results.unfinished_after_latest(runs):  # never read as results
        click.echo(f"\nnot completed: {later.run_id}: {later.describe_status()}")
    done = [r for r in runs if r.status == results.COMPLETED]
    if not done:
        click.echo(f"\nno completed run under {results_dir / repro.name} yet: repro run {repro.name}")
        return
    latest = done[-1]
    click.echo(f"\nlatest verdicts ({latest.path}, profile {latest.info.get('profile')}, "
               f"seed {latest.info.get('seed')}, {latest.info.get('backend')}, commit "
               f"{(latest.info.get('git_commit') or 'unknown')[:10]}):")
    try:
        results.check_tables(latest)
        table = latest.table(results.CLAIMS_TABLE)
    except results.ResultsError as exc:
        _fail(str(exc))
    for row in table.astype(object).fillna("").itertuples(index=False):
        reason = f" ({row.reason})" if getattr(row, "reason", "") else ""
        click.echo(f"  {row.claim_id:<6} {row.verdict}{reason}: {row.measured}")
        if row.note:
            click.echo(f"         {row.note}")


@main.command()
@click.argument("names", nargs=-1)
@click.option("--all", "run_all", is_flag=True, help="Run every registered reproduction.")
@click.option("--profile", type=click.Choice(["smoke", "default", "full"]), default="default", show_default=True,
              help=PROFILE_HELP)
@click.option("--backend", type=click.Choice(list(_env.BACKENDS)), default=None,
              help="Keras backend (default: $KERAS_BACKEND, else tensorflow).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Base seed (0 to 2**32-1): same seed, backend and machine give the same numbers.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Override a config field (repeatable), e.g. --set epochs=5 --set widths=8,16.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("results"), show_default=True,
              help="Results folder; each run goes to OUT/NAME/<run_id>/.")
@click.option("--dry-run", is_flag=True, help="Build the profile's config, data pipeline and full-size models, run a "
              "few batches of every training step, judge nothing (data of the real shape stand in for an absent "
              "tfds dataset). E.g. --profile full --dry-run before a long GPU run.")
def run(names, run_all, profile, backend, seed, settings, out, dry_run):
    """Run reproductions and print a verdict per claim.

    \b
    Examples:
      repro run xor
      repro run xor universal_approximation --profile smoke
      repro run vgg_progressive --set dataset=tfds:cifar10 --profile full --backend jax
      repro run --all --profile full --dry-run
    """
    try:
        _env.select_backend(backend)
    except _env.BackendError as exc:
        _fail(str(exc))
    if not names and not run_all:
        _fail("name at least one reproduction (see `repro list`) or pass --all", 2)
    registry = _registry()
    from keras_repro.suite import config as config_mod
    from keras_repro.suite import results, runner

    try:
        repros = registry.all_reproductions() if run_all else [registry.get(n) for n in dict.fromkeys(names)]
    except registry.UnknownReproduction as exc:
        _fail(str(exc), 2)
    try:
        config_mod.check_seed(seed)
    except config_mod.ConfigError as exc:  # one line (click's own range error prints three)
        _fail(f"--{exc}", 2)
    try:
        overrides = config_mod.parse_overrides(settings)
        for repro in repros:  # validate everything before running anything
            config_mod.make_config(repro.config, profile, overrides, dry_run=dry_run)
        results.check_writable(out)
    except (config_mod.ConfigError, results.ResultsError) as exc:
        _fail(str(exc), 2 if isinstance(exc, config_mod.ConfigError) else 1)

    from keras_repro.suite import interrupts

    # SIGTERM and SIGHUP end a run as Ctrl-C does: recorded, exit 128 + n (until this command returns)
    click.get_current_context().call_on_close(interrupts.install())
    rows, failed = [], []
    for repro in repros:
        click.secho(f"== {repro.name}: {repro.title} ({profile} profile, seed {seed})", bold=True, err=True)
        try:
            outcome = runner.run_reproduction(repro, profile=profile, seed=seed, overrides=overrides, out=out,
                                              log=lambda m: click.echo(m, err=True), command=sys.argv,
                                              dry_run=dry_run)
        except KeyboardInterrupt as exc:
            click.echo(f"\n{interrupts.describe(exc)}: {repro.name} {_recorded(exc)}; earlier runs untouched",
                       err=True)
            sys.exit(interrupts.exit_code(exc))
        except Exception as exc:  # report, keep going with the next reproduction
            failed.append(repro.name)
            click.secho(f"{repro.name} failed: {exc.__class__.__name__}: {exc} ({_recorded(exc)})", fg="red", err=True)
            continue
        if outcome.unavailable:
            click.secho(f"{repro.name}: dataset unavailable, claims inconclusive: {outcome.unavailable}",
                        fg="yellow", err=True)
        click.echo(f"   results: {outcome.path}  ({outcome.seconds:.1f} s)", err=True)
        rows += [(repro.name, c) for c in outcome.claims]
    if rows:
        _print_verdicts(rows)
    if failed:
        _fail(f"{len(failed)} reproduction(s) failed: {', '.join(failed)}")


def _recorded(exc: BaseException) -> str:
    """What the run folder says about a run that ended with ``exc`` (the truth, even on a full disk)."""
    folder = getattr(exc, "run_folder", None)
    if folder is None:
        return "stopped before its run folder was created"
    problem = getattr(exc, "record_problem", None)
    if problem:
        return (f"could not record the failure in {folder / 'run.json'} ({problem}); it still says running "
                f"and reads as interrupted once this process has ended")
    if getattr(exc, "recorded_status", None) == "completed":
        return f"completed before the interrupt: {folder}"
    return f"marked failed, traceback in {folder / 'run.json'}"


def _print_verdicts(rows):
    colours = {"reproduced": "green", "not reproduced": "red", "inconclusive": "yellow"}
    click.echo("")
    name_w = max(len(n) for n, _ in rows)
    from keras_repro.suite.claims import first_sentence

    click.echo(f"{'reproduction':<{name_w}}  claim   {'verdict':<15} {'reason':<20} why (first sentence of the note, "
               "else the measurements)")
    for name, c in rows:
        why = first_sentence(c.note) or c.measured_text()
        if len(why) > 110:
            why = why[:107] + "..."
        click.echo(f"{name:<{name_w}}  {c.claim_id:<7} " + click.style(f"{c.verdict:<15}", fg=colours.get(c.verdict))
                   + f" {c.reason:<20} {why}")


@main.command()
@click.argument("a")
@click.argument("b")
@click.option("--results-dir", type=click.Path(path_type=Path), default=Path("results"), show_default=True,
              help="Where NAME@latest and NAME@<run_id> are looked up.")
def compare(a: str, b: str, results_dir: Path):
    """Compare two runs table by table: A and B are run folders, NAME@latest or NAME@<run_id>.

    Exits with status 1 when a claim went from reproduced (A) to not reproduced (B), so it can gate CI.
    """
    import pandas as pd

    from keras_repro.suite import results

    try:
        run_a, run_b = results.resolve_run(a, results_dir), results.resolve_run(b, results_dir)
        comparison = results.compare_runs(run_a, run_b)
    except results.ResultsError as exc:
        _fail(str(exc))
    click.echo(f"A: {run_a.path}  ({run_a.info.get('profile')}, seed {run_a.info.get('seed')}, "
               f"{run_a.info.get('backend')}, {(run_a.info.get('git_commit') or 'unknown')[:10]})")
    click.echo(f"B: {run_b.path}  ({run_b.info.get('profile')}, seed {run_b.info.get('seed')}, "
               f"{run_b.info.get('backend')}, {(run_b.info.get('git_commit') or 'unknown')[:10]})")
    with pd.option_context("display.width", 200, "display.max_columns", 50, "display.max_colwidth", 60):
        for table in comparison.tables:
            click.secho(f"\n## {table.name}" + (f"  ({table.note})" if table.note else ""), bold=True)
            if not table.frame.empty:
                click.echo(table.frame.to_string(index=False))
    click.secho("\n## verdict changes", bold=True)
    if comparison.verdict_changes.empty:
        click.echo("none")
    else:
        click.echo(comparison.verdict_changes.to_string(index=False))
    if not comparison.regressions.empty:
        _fail(f"{len(comparison.regressions)} claim(s) went from reproduced to not reproduced: "
              + ", ".join(comparison.regressions["claim_id"]))


@main.command()
@click.option("--results-dir", type=click.Path(path_type=Path), default=Path("results"), show_default=True)
@click.option("--profile", type=click.Choice(["smoke", "default", "full"]), default=None,
              help="Only runs of this profile (default: the latest completed run of any profile).")
@click.option("--write", "write_to", type=click.Path(path_type=Path), default=None,
              help="Also write the summary as a Markdown file (e.g. results/SUMMARY.md).")
def report(results_dir: Path, profile: str | None, write_to: Path | None):
    """Summarise the latest verdict of every claim across all reproductions."""
    registry = _registry()
    from keras_repro.suite import results

    names = [r.name for r in registry.all_reproductions()]
    table, problems = results.summary(results_dir, names, profile)
    for line in results.unfinished(results_dir, names):
        click.echo(f"note: not completed, not in this report: {line}", err=True)
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)
    if table.empty:
        _fail(f"no completed runs under {results_dir}" + (f" ({len(problems)} damaged)" if problems else ""))
    counts = table["verdict"].value_counts()
    line = ", ".join(f"{counts.get(v, 0)} {v}" for v in ("reproduced", "not reproduced", "inconclusive"))
    click.echo(f"{len(table)} claims from {table['reproduction'].nunique()} reproductions: {line}")
    shown = table[["claim_id", "reproduction", "verdict", "reason", "why"]].copy()
    shown["why"] = shown["why"].str.slice(0, 70)
    click.echo(shown.to_string(index=False))
    if write_to is not None:
        md = ("# Verdicts of the latest runs\n\n"
              "Generated by `repro report --write` from the run folders under "
              f"`{results_dir}/` (each run folder's `run.json` holds its provenance).\n\n"
              f"{line}.\n\n" + results.to_markdown(table))
        try:
            results.atomic_write_text(write_to, md)
        except OSError as exc:
            _fail(f"cannot write {write_to}: {exc.strerror or exc}")
        click.echo(f"written: {write_to}")
    if problems:  # the summary is incomplete: a gate must not pass on it
        _fail(f"{len(problems)} damaged run folder(s) or table(s) (listed above): the report is incomplete")


main.add_command(data_commands.data)
main.add_command(data_commands.bench)



def entry():
    """Console-script entry point: the CLI with TensorFlow's native log lines filtered out."""
    _env.filter_native_stderr()
    main()


if __name__ == "__main__":  # pragma: no cover
    entry()
