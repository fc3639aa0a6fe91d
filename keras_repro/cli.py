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


class _Catalog:
    """The registry as the reading commands (list, show, report) use it: metadata only, so neither Keras nor
    a backend is imported (see ``keras_repro.suite.registry``)."""

    def __init__(self):
        from keras_repro.suite import registry

        self._registry = registry
        self.UnknownReproduction = registry.UnknownReproduction

    def _warn(self):
        for module, error in self._registry.broken_modules_known().items():
            click.echo(f"warning: reproduction module {module} failed to import: {error}", err=True)

    def all_reproductions(self):
        found = self._registry.all_reproductions(metadata_only=True)
        self._warn()
        return found

    def get(self, name: str):
        try:
            return self._registry.get(name, metadata_only=True)
        finally:
            self._warn()


def _catalog() -> _Catalog:
    return _Catalog()


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
    registry = _catalog()
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
    registry = _catalog()
    from keras_repro.suite import config as config_mod
    from keras_repro.suite import results, text

    try:
        repro = registry.get(name)
    except registry.UnknownReproduction as exc:
        _fail(str(exc), 2)
    width = text.terminal_width()

    def say(line: str, indent: str = "", hang: str = "") -> None:  # wrapped, words never cut
        click.echo("\n".join(text.wrap(text.plain_rest(line), width, indent, indent + hang)))

    click.secho("\n".join(text.wrap(f"{repro.name}: {repro.title}", width, "", "  ")), bold=True)
    if repro.description:
        click.echo("\n" + "\n".join(text.paragraphs(repro.description, width)) + "\n")
    for claim in repro.claims:
        click.secho(f"{claim.id}", bold=True, nl=False)
        click.echo("\n".join(text.wrap(claim.statement, width, " " * (len(claim.id) + 2), "      "))[len(claim.id):])
        say(f"rule: {claim.rule.describe()}", "      ", "  ")
        for pre in claim.preconditions:
            say(f"precondition: {pre.describe()}", "      ", "  ")
        for effect in claim.effects:
            say(f"effect: {effect.describe()}", "      ", "  ")
        if claim.erratum:
            say("a failed rule is an erratum in the notes", "      ")
        if claim.note:
            click.echo("\n".join(text.paragraphs(f"note: {claim.note}", width, "      ")))
    if repro.single_device:
        say("\ndevices: one (steps optimisers by hand; repro run --devices is ignored for it)")
    if repro.timed:
        say("\ntimed: measures wall-clock seconds, so repro run --jobs runs it with no other run beside it")
    click.echo("\nconfig (default profile; change with --set key=value):")
    for field in config_mod.describe_fields(repro.config):
        changes = ", ".join(f"{p}={repro.config.PROFILES[p][field.name]!r}" for p in ("smoke", "full")
                            if field.name in repro.config.PROFILES.get(p, {}))
        kind = field.type + (f", {field.accepts}" if field.accepts else "")
        say(f"{field.name} ({kind}) = {field.default!r}" + (f"   [{changes}]" if changes else ""), "  ", "    ")
        if field.help:
            say(field.help, "      ")
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
    click.echo("")
    say(f"latest verdicts ({latest.path}, profile {latest.info.get('profile')}, "
        f"seed {latest.info.get('seed')}, {latest.info.get('backend')}, commit "
        f"{(latest.info.get('git_commit') or 'unknown')[:10]}):", "", "  ")
    try:
        results.check_tables(latest)
        table = latest.table(results.CLAIMS_TABLE)
    except results.ResultsError as exc:
        _fail(str(exc))
    for row in table.astype(object).fillna("").itertuples(index=False):
        reason = f" ({row.reason})" if getattr(row, "reason", "") else ""
        say(f"{row.claim_id:<6} {row.verdict}{reason}: {row.measured}", "  ", "       ")
        if row.note:
            click.echo("\n".join(text.paragraphs(row.note, width, "         ")))


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
@click.option("--devices", default=None, metavar="N|all",
              help="Train data-parallel over N devices (or all): GPUs where present, else simulated CPU devices. "
              "JAX: keras.distribution.DataParallel; TensorFlow: MirroredStrategy; not on torch. batch_size is "
              "the global batch.")
@click.option("--precision", type=click.Choice(["float32", "mixed_bfloat16", "mixed_float16"]), default="float32",
              show_default=True, help="Keras dtype policy of the run (mixed_float16 with loss scaling).")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Run the reproductions in this many worker processes at once (each pinned to its own GPU(s) "
              "where GPUs exist), with one progress view and one verdict table.")
@click.option("--dask", "dask_address", default=None, metavar="ADDRESS|local:N",
              help="Run the reproductions as tasks on a Dask distributed cluster (tcp://host:8786), or on "
              "local:N (N local worker processes started and closed here); each run folder comes back under "
              "--out. Needs keras-repro[dask].")
@click.option("--processes", type=click.IntRange(min=1), default=1, show_default=True,
              help="Train as one data-parallel job of this many processes (e.g. one per machine; JAX only): start "
              "the same command in each with its own --process-id and the same --coordinator. Process 0 writes "
              "the results.")
@click.option("--process-id", type=click.IntRange(min=0), default=0, show_default=True,
              help="This process's index in the job (0: the coordinator, which writes the results).")
@click.option("--coordinator", default=None, metavar="HOST:PORT",
              help="Address of process 0 that every process of the job connects to, e.g. 10.0.0.1:8476.")
@click.option("--log-dir", type=click.Path(path_type=Path), default=None,
              help="Write Keras's CSVLogger and TensorBoard logs of every trained model under "
              "LOG_DIR/NAME/<run_id>/ (tensorboard --logdir LOG_DIR).")
@click.option("--resumable", is_flag=True, help="Keep every fit's training state in the run folder while it runs, "
              "so `--resume` can continue it after an interruption (always on for the full profile).")
@click.option("--resume", "resume_spec", default=None, metavar="RUN",
              help="Continue an interrupted or failed resumable run (its folder, or NAME@RUN_ID under --out) in its "
              "own folder, with its recorded profile, seed, settings, backend and precision; each fit continues "
              "from its last finished epoch.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the verdict table and errors.")
@click.option("--verbose", "-v", is_flag=True, help="Print every epoch as a line (not throttled, no bar).")
def run(names, run_all, profile, backend, seed, settings, out, dry_run, devices, precision, jobs, dask_address,
        processes, process_id, coordinator, log_dir, resumable, resume_spec, quiet, verbose):
    """Run reproductions and print a verdict per claim.

    \b
    Examples:
      repro run xor
      repro run xor universal_approximation --profile smoke
      repro run vgg_progressive --set dataset=tfds:cifar10 --profile full --backend jax
      repro run --all --profile full --dry-run
      repro run lenet --devices 4 --backend jax --precision mixed_bfloat16
      repro run lenet --backend jax --processes 2 --process-id 0 --coordinator 10.0.0.1:8476
      repro run --all --dask tcp://10.0.0.1:8786
      repro run vgg_progressive --profile full --set dataset=tfds:cifar10   (killed, then:)
      repro run --resume results/vgg_progressive/20261201-101500-full-s0
    """
    resume_folder = None
    if resume_spec is not None:
        resume_folder, names, profile, seed, settings, backend, dry_run, devices, precision = _resume_options(
            resume_spec, out, names=names, run_all=run_all, profile=profile, seed=seed, settings=settings,
            backend=backend, dry_run=dry_run, devices=devices, precision=precision, jobs=jobs,
            dask_address=dask_address, processes=processes)
    try:  # the name only: options are judged before what is installed
        backend = _env.backend_name(backend)
    except _env.BackendError as exc:
        _fail(str(exc))
    if not names and not run_all:
        _fail("name at least one reproduction (see `repro list`) or pass --all", 2)
    if devices is not None and devices != "all" and not (devices.isdigit() and int(devices) > 0):
        _fail(f"--devices must be a positive number or 'all'. Received: {devices!r}", 2)
    if devices is not None and devices != "all" and int(devices) > 1 and backend == "torch":
        _fail("--devices > 1 is not supported on the torch backend; use --backend jax or tensorflow", 2)
    if quiet and verbose:
        _fail("--quiet and --verbose exclude each other", 2)
    verbosity = 0 if quiet else 2 if verbose else 1
    if processes > 1 and jobs > 1:
        _fail("--processes (one job over several processes) and --jobs (several runs at once) do not combine", 2)
    if dask_address is not None:
        from keras_repro.suite import cluster as cluster_mod  # no Keras import; Dask only when it runs

        if jobs > 1 or processes > 1:
            _fail(f"--dask (runs on a Dask cluster) and --{'jobs' if jobs > 1 else 'processes'} do not combine", 2)
        if log_dir is not None:
            _fail("--log-dir does not combine with --dask (the logs would stay on the workers)", 2)
        try:
            cluster_mod.check(dask_address)
        except cluster_mod.ClusterError as exc:
            _fail(str(exc), 2)
    from keras_repro.suite import processes as processes_mod  # no Keras import

    try:
        processes_mod.check(backend, processes, process_id, coordinator, devices)
    except processes_mod.ProcessesError as exc:
        _fail(str(exc), 2)
    try:
        backend = _env.select_backend(backend)
    except _env.BackendError as exc:
        _fail(str(exc))
    if processes > 1 and not os.environ.get(processes_mod.SUPERVISED):
        # this process's part runs in a child whose native abort (a peer died) becomes one line here
        sys.exit(processes_mod.supervise(process_id, sys.argv[1:]))
    _env.prepare_devices(backend, devices)  # simulated JAX CPU devices: before JAX is imported
    keras = _env.import_keras_quietly()
    if processes > 1:
        click.echo(f"process {process_id} of {processes}: joining the job at {coordinator} ...", err=True)
        try:
            processes_mod.join(coordinator, processes, process_id)
        except processes_mod.ProcessesError as exc:
            _fail(f"could not join the job: {exc}")
        except Exception as exc:  # noqa: BLE001 - the engine's own message, on one line
            _fail(f"process {process_id} could not join the job at {coordinator}: {str(exc).splitlines()[0]}")
        if process_id > 0:  # the results are process 0's; this one trains its part and keeps nothing
            import shutil
            import tempfile

            out = Path(tempfile.mkdtemp(prefix=f"repro-process-{process_id}-"))
            click.get_current_context().call_on_close(lambda: shutil.rmtree(out, ignore_errors=True))
            click.echo(f"process {process_id}: trains its part of every batch; process 0 writes the results",
                       err=True)
    if keras.backend.backend() == "tensorflow":
        _env.split_tensorflow_cpu(devices)  # logical CPU devices: before TensorFlow runs anything
    registry = _registry()
    from keras_repro.suite import config as config_mod
    from keras_repro.suite import results, runner
    from keras_repro.suite import runtime as runtime_mod

    try:
        repros = registry.all_reproductions() if run_all else [registry.get(n) for n in dict.fromkeys(names)]
    except registry.UnknownReproduction as exc:
        _fail(str(exc), 2)
    try:
        config_mod.check_seed(seed)
    except config_mod.ConfigError as exc:  # one line (click's own range error prints three)
        _fail(f"--{exc}", 2)
    try:
        overrides = config_mod.parse_overrides(settings) if not isinstance(settings, dict) else settings
        n_devices = runtime_mod.resolve_devices(backend, devices)
        for repro in repros:  # validate everything before running anything
            cfg = config_mod.make_config(repro.config, profile, overrides, dry_run=dry_run)
            if not repro.single_device:
                runtime_mod.check_batch(getattr(cfg, "batch_size", None), n_devices, repro.name)
            if resume_spec is not None:  # the code must make the config the run recorded
                from keras_repro.suite import resume as resume_mod

                try:
                    resume_mod.check_resumable(resume_folder, repro.name, cfg.to_dict())
                except resume_mod.ResumeError as exc:
                    _fail(str(exc))
        results.check_writable(out)
        if log_dir is not None:
            results.check_writable(log_dir)
    except (config_mod.ConfigError, results.ResultsError, runtime_mod.DistributionError) as exc:
        _fail(str(exc), 1 if isinstance(exc, results.ResultsError) else 2)

    from keras_repro.suite import interrupts

    # SIGTERM and SIGHUP end a run as Ctrl-C does: recorded, exit 128 + n (until this command returns)
    click.get_current_context().call_on_close(interrupts.install())
    if dask_address is not None:
        _run_cluster(repros, dask_address, profile=profile, backend=backend, seed=seed, settings=settings,
                     out=out, dry_run=dry_run, devices=devices, precision=precision)
        return
    if jobs > 1 and len(repros) > 1:
        _run_jobs(repros, jobs, profile=profile, backend=backend, seed=seed, settings=settings, out=out,
                  dry_run=dry_run, devices=devices, precision=precision, n_devices=n_devices)
        return
    rows, failed = [], []
    log, bar = _progress_output(verbosity)
    for repro in repros:
        if verbosity:
            click.secho(f"== {repro.name}: {repro.title} ({profile} profile, seed {seed})", bold=True, err=True)
        try:
            outcome = runner.run_reproduction(repro, profile=profile, seed=seed, overrides=overrides, out=out,
                                              log=log, command=sys.argv, dry_run=dry_run, devices=devices,
                                              precision=precision, verbosity=verbosity, bar=bar,
                                              log_dir=log_dir, resumable=True if resumable else None,
                                              resume=resume_folder)
        except KeyboardInterrupt as exc:
            click.echo(f"\n{interrupts.describe(exc)}: {repro.name} {_recorded(exc)}; earlier runs untouched",
                       err=True)
            sys.exit(interrupts.exit_code(exc))
        except Exception as exc:  # report, keep going with the next reproduction
            failed.append(repro.name)
            click.secho(f"{repro.name} failed: {exc.__class__.__name__}: {exc} ({_recorded(exc)})", fg="red", err=True)
            continue
        if outcome.unavailable:
            log(click.style(f"{repro.name}: dataset unavailable, claims inconclusive: {outcome.unavailable}",
                            fg="yellow"))
        if verbosity:
            log(f"   results: {outcome.path}  ({outcome.seconds:.1f} s)")
        rows += [(repro.name, c) for c in outcome.claims]
    if rows:
        _print_verdicts(rows)
    if failed:
        _fail(f"{len(failed)} reproduction(s) failed: {', '.join(failed)}")


def _resume_options(spec, out, *, names, run_all, profile, seed, settings, backend, dry_run, devices, precision,
                    jobs, dask_address, processes):
    """The run folder and the options of a ``--resume`` run: the recorded ones; an option given that disagrees
    is one line, exit 2."""
    from keras_repro.suite import resume as resume_mod  # no Keras import

    try:
        run = resume_mod.find(spec, out)
        resume_mod.check_status(run)
    except resume_mod.ResumeError as exc:
        _fail(str(exc))
    info = run.info
    if run_all or jobs > 1 or dask_address is not None or processes > 1:
        _fail("--resume continues one run here: leave out --all, --jobs, --dask and --processes", 2)
    if names and list(names) != [info["reproduction"]]:
        _fail(f"--resume {spec} is a run of {info['reproduction']!r}; leave out the names or give that one", 2)
    if settings:
        _fail("--resume takes the run's recorded settings; leave out --set", 2)
    recorded = {"profile": info["profile"], "seed": info["seed"], "backend": info.get("backend"),
                "dry_run": bool(info.get("dry_run")), "precision": info.get("precision", "float32"),
                "devices": str((info.get("distribution") or {}).get("devices") or 1)}
    given = {"profile": profile, "seed": seed, "backend": backend, "dry_run": dry_run, "precision": precision,
             "devices": devices}
    source = click.get_current_context().get_parameter_source
    for key, value in given.items():
        explicit = source(key) is click.core.ParameterSource.COMMANDLINE
        if explicit and str(value) != str(recorded[key]):
            _fail(f"--resume continues the run as recorded ({key.replace('_', '-')} {recorded[key]}); leave out "
                  f"--{key.replace('_', '-')} {value}", 2)
    devices = None if recorded["devices"] == "1" else recorded["devices"]
    return (run.path, (info["reproduction"],), recorded["profile"], recorded["seed"], dict(info.get("overrides") or {}),
            recorded["backend"], recorded["dry_run"], devices, recorded["precision"])


def _progress_output(verbosity: int):
    """``(log, bar)``: progress lines on stderr, and on a terminal (at normal verbosity) one status line that
    each epoch redraws in place; ``bar`` is None when stderr is not a terminal (CI gets throttled lines)."""
    import shutil

    drawn = [False]

    def log(message: str) -> None:
        if drawn[0]:
            sys.stderr.write("\r\033[K")
            drawn[0] = False
        click.echo(message, err=True)

    if verbosity != 1 or not sys.stderr.isatty():
        return log, None

    def bar(text: str) -> None:
        width = shutil.get_terminal_size((100, 20)).columns
        sys.stderr.write("\r\033[K" + text[: max(10, width - 1)])
        sys.stderr.flush()
        drawn[0] = True

    return log, bar


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


def _child_args(*, profile, backend, seed, settings, dry_run, devices, precision) -> list[str]:
    """The options of one ``repro run NAME`` worker process (without ``--out``)."""
    child = ["--profile", profile, "--backend", backend, "--seed", str(seed), "--precision", precision]
    for setting in settings:
        child += ["--set", setting]
    if dry_run:
        child.append("--dry-run")
    if devices is not None:
        child += ["--devices", str(devices)]
    return child


def _run_jobs(repros, jobs, *, profile, backend, seed, settings, out, dry_run, devices, precision, n_devices):
    from keras_repro.suite import jobs as jobs_mod

    child = _child_args(profile=profile, backend=backend, seed=seed, settings=settings, dry_run=dry_run,
                        devices=devices, precision=precision) + ["--out", str(out)]
    click.secho(f"== {len(repros)} reproductions in {jobs} worker processes ({profile} profile, seed {seed})",
                bold=True, err=True)
    try:
        done = jobs_mod.run_jobs([r.name for r in repros], jobs, child, out, lambda m: click.echo(m, err=True),
                                 devices_per_job=n_devices, alone={r.name for r in repros if r.timed})
    except KeyboardInterrupt as exc:
        from keras_repro.suite import interrupts

        click.echo(f"\n{interrupts.describe(exc)}: the running reproductions are marked failed; earlier runs "
                   "untouched", err=True)
        sys.exit(interrupts.exit_code(exc))
    _finish_runs(repros, done)


def _run_cluster(repros, address, *, profile, backend, seed, settings, out, dry_run, devices, precision):
    from keras_repro.suite import cluster as cluster_mod

    child = _child_args(profile=profile, backend=backend, seed=seed, settings=settings, dry_run=dry_run,
                        devices=devices, precision=precision)
    click.secho(f"== {len(repros)} reproduction{'s' if len(repros) > 1 else ''} as Dask tasks ({profile} profile, "
                f"seed {seed})", bold=True, err=True)
    try:
        record = {"profile": profile, "seed": seed, "backend": backend, "dry_run": dry_run,
                  "claims": {r.name: r.claim_ids for r in repros}}
        done = cluster_mod.run_cluster([r.name for r in repros], address, child, out,
                                       lambda m: click.echo(m, err=True), record=record)
    except cluster_mod.ClusterError as exc:
        _fail(str(exc))
    except KeyboardInterrupt as exc:
        from keras_repro.suite import interrupts

        click.echo(f"\n{interrupts.describe(exc)}: the running tasks are cancelled; earlier runs untouched",
                   err=True)
        sys.exit(interrupts.exit_code(exc))
    _finish_runs(repros, done)


def _finish_runs(repros, done):
    """The verdict table of runs made by worker processes (``--jobs``, ``--dask``), from their claims.csv;
    exit 1 naming the reproductions that failed."""
    from keras_repro.suite import results

    order = {r.name: i for i, r in enumerate(repros)}
    rows, failed = [], []
    for job in sorted(done, key=lambda j: order[j.name]):
        if not job.outcome.startswith("completed"):
            failed.append(job.name)
            continue
        table = results.load_run(job.folder).table(results.CLAIMS_TABLE).astype(object).fillna("")
        rows += [(job.name, _ClaimRow(**{k: str(row[k]) for k in ("claim_id", "verdict", "reason", "measured",
                                                                  "note")})) for _, row in table.iterrows()]
    if rows:
        _print_verdicts(rows)
    if failed:
        _fail(f"{len(failed)} reproduction(s) failed: {', '.join(failed)}")


class _ClaimRow:
    """A claims.csv row shaped like a ClaimResult for :func:`_print_verdicts`."""

    def __init__(self, claim_id, verdict, reason, measured, note):
        self.claim_id, self.verdict, self.reason, self._measured, self.note = claim_id, verdict, reason, measured, note

    def measured_text(self):
        return self._measured


def _print_verdicts(rows):
    """The verdict table: reproduction, claim, verdict, reason and why (the note's first sentence, else the
    measurements), wrapped to the terminal (never cut)."""
    from keras_repro.suite import text
    from keras_repro.suite.claims import first_sentence

    colours = {"reproduced": "green", "not reproduced": "red", "inconclusive": "yellow"}
    body = [[name, c.claim_id, c.verdict, c.reason, first_sentence(c.note) or c.measured_text()] for name, c in rows]

    def style(column: int, piece: str) -> str:
        verdict = piece.strip()
        if column == 2 and verdict:
            colour = colours.get(verdict) or next((v for k, v in colours.items() if verdict in k.split()), None)
            return click.style(piece, fg=colour)
        return piece

    click.echo("")
    click.echo("\n".join(text.table(["reproduction", "claim", "verdict", "reason",
                                     "why"], body, style=style)))


@main.command()
@click.argument("a")
@click.argument("b")
@click.option("--results-dir", type=click.Path(path_type=Path), default=Path("results"), show_default=True,
              help="Where NAME@latest and NAME@<run_id> are looked up.")
@click.option("--tolerance", type=click.FloatRange(min=0), default=1e-6, show_default=True,
              help="Numbers A and B count as the same when |B - A| <= TOLERANCE x (1 + max(|A|, |B|)): "
              "absolute near zero, relative for large values. 0: only identical numbers.")
@click.option("--full", is_flag=True, help="Print every table in full, side by side (A, B, B - A), not only "
              "what differs.")
def compare(a: str, b: str, results_dir: Path, tolerance: float, full: bool):
    """Compare two runs: A and B are run folders, NAME@latest or NAME@<run_id>.

    First a summary (verdict changes with their reasons, measured values that moved beyond the tolerance,
    how many tables are identical), then, per table, only the rows and columns that differ (with the key
    columns that identify a row), wrapped to the terminal.

    Exits with status 1 when a claim went from reproduced (A) to not reproduced (B), so it can gate CI.
    """
    from keras_repro.suite import results, text

    width = text.terminal_width()
    try:
        run_a, run_b = results.resolve_run(a, results_dir), results.resolve_run(b, results_dir)
        comparison = results.compare_runs(run_a, run_b)
    except results.ResultsError as exc:
        _fail(str(exc))
    for letter, r in (("A", run_a), ("B", run_b)):
        _echo_wrapped(f"{letter}: {r.path}  ({r.info.get('profile')}, seed {r.info.get('seed')}, "
                      f"{r.info.get('backend')}, {_distribution_text(r.info)}, "
                      f"{(r.info.get('git_commit') or 'unknown')[:10]})", width, "   ")
    changes = comparison.verdict_changes
    click.echo("")
    if changes.empty:
        click.echo("verdict changes: none")
    else:
        click.secho(f"verdict changes ({len(changes)}):", bold=True)
        for row in changes.astype(object).fillna("").itertuples(index=False):
            reasons = f" ({row.reason_a or '-'} → {row.reason_b or '-'})" if (row.reason_a or row.reason_b) else ""
            _echo_wrapped(f"  {row.claim_id}: {row.verdict_a or 'absent'} → {row.verdict_b or 'absent'}{reasons}",
                          width, "      ")
    moved = comparison.measured_changes(tolerance)
    if not moved:
        click.echo(f"measured values beyond the tolerance ({tolerance:g}): none")
    else:
        click.secho(f"measured values beyond the tolerance ({tolerance:g}) in {len(moved)} claim(s):", bold=True)
        for claim_id, values in moved:
            _echo_wrapped(f"  {claim_id}: " + "; ".join(f"{k} {va} → {vb}" for k, va, vb in values), width, "      ")
    differing = [t for t in comparison.tables if not t.identical(tolerance)]
    total = len(comparison.tables)
    click.echo(f"tables identical: {total - len(differing)} of {total}"
               + (f" (differ: {', '.join(t.name for t in differing)})" if differing else ""))
    for table in comparison.tables if full else differing:
        frame, n_rows = (table.frame, len(table.frame)) if full else table.differing(tolerance)
        heading = f"## {table.name}"
        if not table.frame.empty and not full:
            heading += f"  ({n_rows} of {len(table.frame)} rows differ)"
        click.secho("\n" + heading + (f"  [{table.note}]" if table.note else ""), bold=True)
        if not frame.empty:
            click.echo("\n".join(_side_by_side_lines(frame, table.keys, width)))
    if not comparison.regressions.empty:
        _fail(f"{len(comparison.regressions)} claim(s) went from reproduced to not reproduced: "
              + ", ".join(comparison.regressions["claim_id"]))


def _side_by_side_lines(frame, keys, width: int) -> list[str]:
    """A compared table as a wrapped table when it fits the width, else one record per row: its keys, then
    ``column: A → B (B - A = d)`` per column that differs in that row."""
    from keras_repro.suite import text

    rows = [[_cell(v) for v in row] for row in frame.itertuples(index=False)]
    lines = text.table(list(frame.columns), rows, width)
    if max(len(line) for line in lines) <= width:
        return lines
    lines = []
    columns = list(frame.columns)
    compared = [c[:-2] for c in columns if c.endswith("_a") and f"{c[:-2]}_b" in columns]
    for row in rows:
        cell = dict(zip(columns, row))
        lines += text.wrap("  ".join(f"{k}={cell[k]}" for k in keys if k in cell) or "(row)", width, "", "    ")
        for col in compared:
            if cell[col + "_a"] == cell[col + "_b"]:  # differs in another row only
                continue
            diff = cell.get(f"{col}_diff", "")
            lines += text.wrap(f"{col}: {cell[col + '_a'] or '(empty)'} → {cell[col + '_b'] or '(empty)'}"
                               + (f" (B - A = {diff})" if diff else ""), width, "    ", "      ")
    return lines


def _cell(value) -> str:
    """A table cell as text: numbers to 6 significant digits, missing values empty."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return format(value, ".6g")
    return str(value)


def _echo_wrapped(line: str, width: int, subsequent: str = "  ") -> None:
    from keras_repro.suite import text

    click.echo("\n".join(text.wrap(line, width, "", subsequent)))


def _distribution_text(info: dict) -> str:
    """'1 device, float32' / '4 devices (keras.distribution.DataParallel ...), mixed_bfloat16' from run.json."""
    dist = info.get("distribution") or {}
    n = int(dist.get("devices", 1) or 1)
    where = "1 device" if n == 1 else f"{n} devices ({str(dist.get('engine', '')).split(' ')[0]})"
    if int(dist.get("processes", 1) or 1) > 1:
        where += f" in {dist['processes']} processes"
    return f"{where}, {info.get('precision', 'float32')}"


@main.command()
@click.option("--results-dir", type=click.Path(path_type=Path), default=Path("results"), show_default=True,
              help="The results folder to read (the one `repro run --out` wrote).")
@click.option("--profile", type=click.Choice(["smoke", "default", "full"]), default=None,
              help="Only runs of this profile (default: the latest completed run of any profile).")
@click.option("--write", "write_to", type=click.Path(path_type=Path), default=None,
              help="Also write the summary as a Markdown file (e.g. results/SUMMARY.md).")
@click.option("--html", "html_to", type=click.Path(path_type=Path), default=None,
              help="Also write one self-contained web page (plots embedded, works offline), e.g. results/index.html.")
def report(results_dir: Path, profile: str | None, write_to: Path | None, html_to: Path | None = None):
    """Summarise the latest verdict of every claim across all reproductions, in claim-ID order."""
    registry = _catalog()
    from keras_repro.suite import results, text

    names = [r.name for r in registry.all_reproductions()]
    table, problems = results.summary(results_dir, names, profile)
    for line in results.unfinished(results_dir, names):
        click.echo(f"note: not completed, not in this report: {line}", err=True)
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)
    if table.empty:
        where = results_dir.resolve()
        what = "no results folder" if not where.is_dir() else "no completed runs" + (
            f" of the {profile} profile" if profile else "") + " in"
        _fail(f"{what} {where}" + (f" ({len(problems)} damaged)" if problems else "")
              + "; point at one with --results-dir PATH, or run `repro run NAME` to make one")
    counts = table["verdict"].value_counts()
    line = ", ".join(f"{counts.get(v, 0)} {v}" for v in ("reproduced", "not reproduced", "inconclusive"))
    click.echo("\n".join(text.wrap(f"{len(table)} claims from {table['reproduction'].nunique()} reproductions: "
                                   f"{line}", text.terminal_width(), "", "  ")))
    shown = table.astype(object).fillna("")
    rows = [[r.claim_id, r.verdict, r.reason, r.measured, r.why, f"{r.run} ({r.date})" if r.date else r.run,
             r.backend, r.profile] for r in shown.itertuples(index=False)]
    click.echo("\n".join(text.table_or_records(
        ["claim", "verdict", "reason", "measured", "why", "run", "backend", "profile"], rows, together=3)))
    if write_to is not None:
        columns = ["claim_id", "reproduction", "verdict", "reason", "measured", "rule", "rule_outcome", "why",
                   "run", "date", "backend", "profile", "seconds", "commit"]
        md = ("# Verdicts of the latest runs\n\n"
              "Generated by `repro report --write` from the run folders under "
              f"`{results_dir}/` (each run folder's `run.json` holds its provenance).\n\n"
              f"{line}.\n\n" + results.to_markdown(table[[c for c in columns if c in table.columns]]))
        try:
            results.atomic_write_text(write_to, md)
        except OSError as exc:
            _fail(f"cannot write {write_to}: {exc.strerror or exc}")
        click.echo(f"written: {write_to}")
    if html_to is not None:
        from keras_repro.suite import html_report

        statements = {c.id: c.statement for r in registry.all_reproductions() for c in r.claims}
        try:
            size = html_report.write(html_to, html_report.build(results_dir, names, profile, statements)[0])
        except OSError as exc:
            _fail(f"cannot write {html_to}: {exc.strerror or exc}")
        click.echo(f"written: {html_to} ({size / 1e6:.1f} MB)")
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
