"""The ``berdaya`` command line.

::

    berdaya run [STUDY.yml] [--out DIR] [--no-village-reports] [--no-pdf] [--workers N]
                [--scheduler ADDRESS] [--villages ID,ID,...] [--retry-failed] [--timeout SECONDS]
                [--language id,en]
    berdaya demo-data --out DIR [--villages N] [--households M] [--seed S] [--rounds R --waves W]
    berdaya codebook STUDY [--from-xlsform [ROUND=]FORM ...] [--out FILE]   (alias: codebook-template)
    berdaya init DIR [--from-xlsform [ROUND=]FORM ...]
    berdaya package STUDY --out DIR [--include-raw]
    berdaya verify DIR

Errors the user can fix are printed as one line naming the file, row and column; a traceback
appears only with ``--debug``. Exit codes: 0 success, 1 some village reports failed (the others
were written) or ``verify`` found tables that differ from the expected ones, 2 bad input (including
a folder that is not a replication package), 128 + the signal number when interrupted (130 Ctrl-C,
143 SIGTERM).
"""

from __future__ import annotations

import argparse
import signal
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from analysis import errors
from analysis.config import DEFAULT_SEED, DEMO_STUDY, REPORTS_DIR, ROUNDS
from analysis.errors import BerdayaError

#: Errors about files a stage notebook could not read or write: the user's paths (a processed
#: folder made read-only, a raw file deleted mid-run, a full disk), not a bug in berdaya.
_PATH_ERRORS = frozenset(
    {"OSError", "PermissionError", "FileNotFoundError", "IsADirectoryError", "NotADirectoryError"}
)


def own_error_names() -> frozenset[str]:
    """Names of berdaya's own error classes: :class:`BerdayaError` and all its subclasses.

    A stage notebook's exception reaches this process as a papermill error that carries only
    the class name (``ename``), so the names are matched. They are gathered from the class
    tree rather than listed, so an error class added later to :mod:`analysis.errors` (where
    every one belongs) is shown as one line like the others.
    """
    found = {errors.BerdayaError}
    todo = [errors.BerdayaError]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return frozenset(cls.__name__ for cls in found)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="berdaya",
        description="Clean baseline and follow-up household surveys, estimate programme impacts, "
        "and write HTML reports.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the whole pipeline on a study")
    run.add_argument("study", nargs="?", default=str(DEMO_STUDY), help="study file (default: the demo)")
    run.add_argument("--out", default=str(REPORTS_DIR), help="output folder (default: reports/)")
    run.add_argument("--no-village-reports", action="store_true", help="skip the per-village reports")
    run.add_argument(
        "--language",
        metavar="LANG,LANG",
        type=_language_list,
        default=None,
        help="report languages, the first one the default (id, en or id,en; default: the study's "
        "`languages`, else `language`, else id)",
    )
    run.add_argument(
        "--no-pdf", action="store_true", help="skip the A4 PDFs of the reports (the study key `pdf: false`)"
    )
    run.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        help="parallel village reports; 2 or more also clean the two rounds at once (default: cores)",
    )
    run.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="write the village reports on an existing Dask cluster (e.g. tcp://host:8786)",
    )
    run.add_argument(
        "--villages",
        metavar="ID,ID,...",
        type=_village_list,
        default=None,
        help="only these villages (the others keep their current reports)",
    )
    run.add_argument(
        "--retry-failed", action="store_true", help="only the villages that failed in the last run"
    )
    run.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_positive_float,
        default=600.0,
        help="time limit per village report (default: 600)",
    )
    run.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")

    demo = sub.add_parser("demo-data", help="write a synthetic demo survey and its study.yml")
    demo.add_argument("--out", required=True, help="folder to write into")
    demo.add_argument("--villages", type=int, default=30)
    demo.add_argument("--households", type=int, default=40, help="households per village")
    demo.add_argument("--seed", type=int, default=DEFAULT_SEED)
    demo.add_argument(
        "--rounds",
        type=int,
        choices=range(2, 7),
        default=2,
        metavar="R",
        help="survey rounds (default 2: the two-round demo; 3 to 6: a staggered rollout)",
    )
    demo.add_argument(
        "--waves",
        type=int,
        default=None,
        metavar="W",
        help="rollout waves, with --rounds 3 or more (default 2)",
    )
    demo.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")

    codebook = sub.add_parser(
        "codebook",
        aliases=["codebook-template"],
        help="write a starting codebook from XLSForms, or inferred from the raw files and the study",
    )
    codebook.add_argument("study", help="study file (its codebook need not exist yet)")
    codebook.add_argument(
        "--from-xlsform",
        metavar="[ROUND=]FORM",
        action="append",
        type=_form_argument,
        default=None,
        help="the XLSForm of both rounds, or give it twice: baseline=FORM and followup=FORM",
    )
    codebook.add_argument(
        "--out",
        default=None,
        help="codebook file, never overwritten (default: the study's `codebook`, else codebook.csv next "
        "to the study; codebook_template.csv for codebook-template)",
    )
    codebook.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")

    init = sub.add_parser(
        "init", help="write study.yml, codebook.csv and a README next to the survey exports in DIR"
    )
    init.add_argument("folder", metavar="DIR", help="the folder holding the two rounds' exports")
    init.add_argument(
        "--from-xlsform",
        metavar="[ROUND=]FORM",
        action="append",
        type=_form_argument,
        default=None,
        help="the XLSForm(s) to build the codebook from (default: the XLSForms in DIR)",
    )
    init.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")

    package = sub.add_parser("package", help="write a replication package (de-identified data, code, tables)")
    package.add_argument("study", help="study file")
    package.add_argument("--out", required=True, help="package folder (created; must be empty or absent)")
    # Raw exports hold names, phone numbers and NIK: they go in only when asked for by name.
    package.add_argument(
        "--include-raw",
        action="store_true",
        help="also copy the raw, identified exports (only for a secure enclave; never share publicly)",
    )
    package.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")

    verify = sub.add_parser("verify", help="rebuild a replication package's tables and compare them")
    verify.add_argument("package", help="package folder (written by berdaya package)")
    verify.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expecting a whole number of at least 1, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expecting a positive number of seconds, got {text}")
    return value


def _language_list(text: str) -> tuple[str, ...]:
    from analysis.report.text import LANGUAGES

    codes = [c.strip() for c in text.split(",") if c.strip()]
    unknown = [c for c in codes if c not in LANGUAGES]
    if not codes or unknown:
        raise argparse.ArgumentTypeError(f"expecting id, en or id,en, got {text}")
    return tuple(dict.fromkeys(codes))


def _village_list(text: str) -> list[str]:
    codes = [c.strip() for c in text.split(",") if c.strip()]
    if not codes:
        raise argparse.ArgumentTypeError("expecting village codes separated by commas")
    return list(dict.fromkeys(codes))


def _form_argument(text: str) -> tuple[str | None, Path]:
    """``--from-xlsform``: ``FORM`` (both rounds) or ``ROUND=FORM``."""
    head, sep, tail = text.partition("=")
    if sep and head.strip() in ROUNDS:
        return head.strip(), Path(tail).expanduser()
    if sep and not Path(text).expanduser().exists():
        raise argparse.ArgumentTypeError(f"expecting FORM or baseline=FORM or followup=FORM, got {text}")
    return None, Path(text).expanduser()


def _forms(given: list[tuple[str | None, Path]] | None) -> dict[str, Path] | None:
    """The form of each round from the ``--from-xlsform`` options, or None without any."""
    if not given:
        return None
    if len(given) == 1:
        return dict.fromkeys(ROUNDS, given[0][1])
    if len(given) > 2:
        raise BerdayaError("--from-xlsform is given more than twice: give one form, or one per round")
    rounds = [r for r, _ in given]
    if None in rounds:
        from analysis.run.scaffold import assign_rounds

        return assign_rounds([p for _, p in given], what="XLSForms")[0]
    if rounds[0] == rounds[1]:
        raise BerdayaError(f"--from-xlsform names {rounds[0]} twice: give baseline=FORM and followup=FORM")
    return {r: p for r, p in given if r is not None}


def _study_file(text: str) -> Path:
    """The study file argument, refused in one line when it names a folder."""
    path = Path(text).expanduser()
    if path.is_dir():
        hint = f", for example {path / 'study.yml'}" if (path / "study.yml").is_file() else ""
        raise BerdayaError(f"{path} is a folder, not a study file: name the study file{hint}")
    return path


def _run(args: argparse.Namespace) -> int:
    from analysis.inputs.codebook import load_codebook
    from analysis.inputs.study import check_run_supported, load_study
    from analysis.run.pipeline import run_study
    from analysis.shared.files import check_writable_folder

    study = load_study(_study_file(args.study))  # fail fast, in this process, on a malformed study file
    check_run_supported(study)  # and on a design the stages do not read yet (issue 13)
    if study.codebook is not None:
        load_codebook(study)  # and on a codebook whose roles contradict the study's keys
    check_writable_folder(args.out, what="--out")  # before minutes of work, not after
    return run_study(
        args.study,
        out=Path(args.out),
        village_reports=not args.no_village_reports,
        workers=args.workers,
        scheduler=args.scheduler,
        villages=args.villages,
        retry_failed=args.retry_failed,
        timeout=args.timeout,
        pdf=not args.no_pdf,
        languages=args.language,
    )


def _demo(args: argparse.Namespace) -> int:
    from analysis.demo.staggered import write_staggered
    from analysis.demo.survey import write_demo
    from analysis.shared.files import check_writable_folder

    if args.rounds == 2 and args.waves is not None:
        raise BerdayaError("--waves needs --rounds 3 or more: with two rounds there is one wave")
    check_writable_folder(args.out, what="--out")
    sizes = {"villages": args.villages, "households": args.households, "seed": args.seed}
    try:
        if args.rounds == 2:
            write_demo(Path(args.out), **sizes)
        else:
            waves = 2 if args.waves is None else args.waves
            write_staggered(Path(args.out), rounds=args.rounds, waves=waves, **sizes)
    except ValueError as exc:  # a size out of range, said in the options' words
        raise BerdayaError(f"demo-data: {exc}") from None
    what = "demo survey" if args.rounds == 2 else f"staggered-rollout demo ({args.rounds} rounds)"
    print(f"wrote the {what} to {Path(args.out).resolve()}")
    return 0


def _codebook(args: argparse.Namespace) -> int:
    import os

    from analysis.inputs.codebook import write_codebook
    from analysis.inputs.infer import infer_codebook
    from analysis.inputs.readers import read_table
    from analysis.inputs.study import load_study
    from analysis.inputs.xlsform import codebook_from_xlsforms, read_xlsform
    from analysis.shared.files import check_writable_file

    # The study may name the codebook this command is about to write.
    study = load_study(_study_file(args.study), codebook_may_be_missing=True)
    if args.out:
        out = check_writable_file(args.out, what="--out")
    elif args.command == "codebook-template":
        out = check_writable_file(study.folder / "codebook_template.csv", what="the codebook template")
    else:
        out = check_writable_file(study.codebook or study.folder / "codebook.csv", what="the codebook")
    if out.exists():
        raise BerdayaError(
            f"{out} exists: berdaya codebook never overwrites a codebook; move it away or give another --out"
        )
    forms = _forms(args.from_xlsform)
    tables = {r: read_table(study.rounds[r].file, sheet=study.rounds[r].sheet).frame for r in ROUNDS}
    if forms:
        read = {r: read_xlsform(p) for r, p in forms.items()}
        frame = codebook_from_xlsforms(read, columns={r: list(t.columns) for r, t in tables.items()})
    else:
        frame = infer_codebook(tables, study=study)
    write_codebook(frame, out)
    checks = int((frame["note"] != "").sum())
    print(f"wrote {out}: {_count(len(frame), 'variable')}, {checks} with a `# check` note to read")
    if study.codebook is None or study.codebook != out:
        relative = os.path.relpath(out, study.folder)
        print(f"to use it, write `codebook: {relative}` in {study.path.name} (paths are relative to it)")
    return 0


def _init(args: argparse.Namespace) -> int:
    from analysis.run.scaffold import STUDY_FILE, init_study

    written, plan = init_study(args.folder, forms=_forms(args.from_xlsform))
    checks = int((plan.codebook["note"] != "").sum())
    print(f"wrote {', '.join(str(p) for p in written)}")
    print(f"from {plan.source}; read the lines marked `check` ({checks} codebook rows), then run:")
    print(f"  berdaya run {Path(args.folder) / STUDY_FILE} --out reports --no-village-reports")
    return 0


def _package(args: argparse.Namespace) -> int:
    import json

    from analysis.run.replication import build_package
    from analysis.shared import layout
    from analysis.shared.files import check_writable_folder

    study = _study_file(args.study)
    check_writable_folder(args.out, what="--out")
    out = build_package(study, out=Path(args.out), include_raw=args.include_raw)
    # The counts come from the manifest that was written, so the summary describes the package
    # on disk rather than what this command meant to put in it.
    manifest = json.loads((out / layout.MANIFEST_JSON).read_text(encoding="utf-8"))
    tables = len(manifest["expected"])
    rounds = len(manifest["processed"])
    raw = "raw exports INCLUDED" if manifest["include_raw"] else "no raw data"
    print(f"wrote the replication package to {out}")
    print(
        f"it holds {tables} expected tables, {rounds} de-identified cleaned rounds, the study files, "
        f"the notebooks and the code ({raw}); check it with: berdaya verify {out}"
    )
    if manifest["include_raw"]:
        # Last, and on stderr, so it is the line left on screen and survives redirecting stdout.
        print(
            f"warning: {out / 'data' / 'raw'} holds the raw, identified survey exports (names, "
            "phone numbers, NIK): keep this package in a secure enclave and never share it publicly",
            file=sys.stderr,
        )
    return 0


#: Differing cells listed per table in ``berdaya verify``; a broken table can differ in
#: thousands, and past this many the count says more than the lines.
_VERIFY_SHOWN = 50


def _verify(args: argparse.Namespace) -> int:
    from analysis.run.replication import verify_package

    result = verify_package(args.package)
    # A file not as MANIFEST.json records it (edited code, notebook or data; a missing or an
    # added file; an edited expected list) is one line, before the tables.
    for problem in result.files:
        print(problem)
    differing = 0
    for table in result.tables:
        differences = [d for d in result.differences if d.table == table]
        if not differences:
            print(f"{table}: matches")
            continue
        differing += 1
        print(f"{table}: {_count(len(differences), 'difference')}")
        for difference in differences[:_VERIFY_SHOWN]:
            print(f"  {difference.describe()}")
        if len(differences) > _VERIFY_SHOWN:
            print(f"  ... and {len(differences) - _VERIFY_SHOWN} more in {table}")
    if result.ok:
        print(f"all {len(result.tables)} tables match the expected outputs")
        return 0
    tables = (
        f"{differing} of {len(result.tables)} tables differ from the expected outputs "
        f"({_count(len(result.differences), 'difference')})"
        if differing
        else f"all {len(result.tables)} rebuilt tables match the expected outputs"
    )
    files = f"{_count(len(result.files), 'file')} not as MANIFEST.json records them; " if result.files else ""
    print(files + tables)
    return 1


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``berdaya`` command."""
    args = _parser().parse_args(argv)
    handlers = {
        "run": _run,
        "demo-data": _demo,
        "codebook": _codebook,
        "codebook-template": _codebook,
        "init": _init,
        "package": _package,
        "verify": _verify,
    }
    try:
        return handlers[args.command](args)
    except BerdayaError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        print(f"interrupted ({signal.Signals(signum).name})", file=sys.stderr)
        return 128 + int(signum)
    except OSError as exc:
        # A path the user gave (or a folder under it) cannot be read or written: their problem
        # to fix, so one line; --debug still shows where it happened.
        if args.debug:
            traceback.print_exc()
        print(f"error: {_describe_os_error(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:
        ename = getattr(exc, "ename", None)
        if ename in own_error_names():
            # A stage notebook raised one of berdaya's own errors: show its message only.
            if args.debug:
                traceback.print_exc()
            print(f"error: {getattr(exc, 'evalue', exc)}", file=sys.stderr)
            return 2
        if ename in _PATH_ERRORS:
            if args.debug:
                traceback.print_exc()
            print(
                f"error: a stage notebook could not use a file: {getattr(exc, 'evalue', exc)}; check "
                "the path, its permissions and the free disk space, then run again",
                file=sys.stderr,
            )
            return 2
        raise


def _describe_os_error(exc: OSError) -> str:
    """One line for an operating-system error: the file, the reason, what to do."""
    files = [str(f) for f in (exc.filename, exc.filename2) if f is not None]
    where = f"{' → '.join(files)}: " if files else ""
    reason = exc.strerror or str(exc)
    return f"{where}{reason}; check the path, its permissions and the free disk space, then run again"


if __name__ == "__main__":
    sys.exit(main())
