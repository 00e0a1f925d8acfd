"""The ``imgconv`` command: filter folders of images from the shell.

Subcommands: ``batch`` (a folder, glob or file list through a pipeline, see
:func:`imgconv.batch.process`), ``filter`` (one file), ``explain`` (dilated
kernels, receptive fields, pipeline halos), ``steps`` (the pipeline steps and
their parameters), ``info`` (version, kernel path, OpenMP, threads) and
``bench`` (a short speed run).  ``imgconv SUBCOMMAND --help`` shows the options
and examples.

Exit status: 0 when everything succeeded, 1 when some files failed (a summary
is printed) or the run stopped on an error of the system (a full disk), 2 for
usage errors (bad options, a bad pipeline spec, ``DST`` equal to ``SRC``, a
``DST`` that cannot be created or that another run is using, an output that
would replace an input), 130 when interrupted (Ctrl-C; rerun the same command
to finish).  Every error is one line on stderr, never a traceback
(``IMGCONV_TRACEBACK=1`` shows it).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

__all__ = ["main"]

_MAIN_EPILOG = """\
examples:
  imgconv batch data/images out/                  default pipeline (edge bank at dilations 1, 2, 4)
  imgconv batch data/images out/ --dry-run        list input -> output pairs, write nothing
  imgconv batch scans/ out/ --recursive --pattern '*.tif' --filter gaussian --param sigma=2
  imgconv batch 'photos/*.jpg' out/ --bank gabor --dilation 1 2 --workers 4
  imgconv batch data/ out/ --pipeline spec.json --backend processes
  imgconv filter in.png out.tif --filter sobel --dilation 2
  imgconv explain 3 --dilation 2                  taps of a dilated 3x3 kernel
  imgconv explain --layers 3d1,3d2,3d4            receptive field of a stack
  imgconv steps gaussian                          parameters of a pipeline step
  imgconv info
  imgconv bench
  imgconv completion bash > ~/.local/share/bash-completion/completions/imgconv

exit status: 0 all files succeeded, 1 some files failed, 2 usage error, 130 interrupted.
"""

_BATCH_EPILOG = """\
examples:
  imgconv batch data/images out/
      The default pipeline: gray (rgb2gray weights), the six 3x3 edge kernels
      (Sobel, Scharr, Prewitt; h and v) at dilations 1, 2 and 4, absolute value:
      float32 (H, W, 18) responses as out/<name>.tif, out/manifest.jsonl and a
      contact sheet out/preview.png.
  imgconv batch data/images out/ --dry-run
  imgconv batch data/images out/ --filter gaussian --param sigma=3 --out-format .png
  imgconv batch data/images out/ --bank edges --dilation 1 2 4 8 --mode mirror
  imgconv batch 'data/**/*.png' out/ --recursive --workers 4 --threads 8
  imgconv batch data/images out/ --pipeline spec.json --overwrite
  imgconv batch data/images out/ --backend dask --scheduler tcp://10.0.0.5:8786

  A spec file (JSON, or YAML with PyYAML):
    {"version": 1, "steps": [{"step": "to_gray"},
                             {"step": "gaussian", "sigma": 2},
                             {"step": "sobel", "dilation": 2}]}
  `imgconv steps` lists the steps, `imgconv steps NAME` their parameters.

  A rerun skips the files already done by the same pipeline (manifest), and
  removes temporary files left by an interrupted run: after Ctrl-C or a kill,
  run the same command again to finish.

exit status: 0 all files succeeded, 1 some files failed, 2 usage error, 130 interrupted.
"""

_FILTER_EPILOG = """\
examples:
  imgconv filter data/images/camera.png camera_edges.tif
  imgconv filter data/images/camera.png smooth.png --filter gaussian --param sigma=2
  imgconv filter data/images/astronaut.jpg bank.tif --bank edges --dilation 1 2 --preview sheet.png

exit status: 0 success, 1 the file could not be read, filtered or written, 2 usage error.
"""

_EXPLAIN_EPILOG = """\
examples:
  imgconv explain 3 --dilation 2               tap grid of a 3x3 kernel at dilation 2
  imgconv explain 3 5 --dilation 2 1           a 3x5 kernel, dilation (2, 1)
  imgconv explain --layers 3d2,3d2,3d2         three 3x3 layers at dilation 2: gridding holes
  imgconv explain --layers 3d1,3d2,3s2,3d4     layer syntax: K[xK][dD][sS][pP]
  imgconv explain                              the default pipeline: steps and halo
  imgconv explain --pipeline spec.json
  imgconv explain 63 --image 2048 2048         which algorithm a 63x63 filter takes on a 2048x2048 image
  imgconv explain 7 --image 4096 4096 --channels 3 --filters 16 --dtype float64
"""


# --------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------


class _UsageError(Exception):
    """A bad command line found after parsing (exit status 2)."""


def _error(message):
    from ._output import shown

    print(shown(f"imgconv: error: {message}"), file=sys.stderr)


# --------------------------------------------------------------------------------------
# parser
# --------------------------------------------------------------------------------------


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive int; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive int; got {text!r}")
    return value


def _channel_axis(text):
    if text.lower() == "none":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an int or 'none'; got {text!r}") from None


def _add_pipeline_options(parser):
    group = parser.add_argument_group("pipeline (default: the edge bank at dilations 1, 2, 4, see `imgconv steps`)")
    choice = group.add_mutually_exclusive_group()
    choice.add_argument("--pipeline", metavar="SPEC", help="pipeline spec file (.json, or .yaml with PyYAML)")
    choice.add_argument("--filter", metavar="NAME", help="a single filter step, e.g. gaussian, sobel, laplace")
    choice.add_argument("--bank", metavar="NAME", help="a filter bank: edges, gabor, leung_malik, schmid or mr8")
    group.add_argument(
        "--param",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="a parameter of --filter/--bank (VALUE read as JSON, else as a string); repeatable",
    )
    group.add_argument(
        "--dilation",
        metavar="D",
        type=_positive_int,
        nargs="+",
        help="--filter: D or DH DW; --bank: the rates, e.g. 1 2 4",
    )
    group.add_argument(
        "--stride", metavar="S", type=_positive_int, nargs="+", help="stride of the step (for steps that have one)"
    )
    group.add_argument("--mode", metavar="MODE", help="border mode, scipy names (reflect, mirror, nearest, ...)")
    group.add_argument(
        "--channel-axis",
        metavar="AXIS",
        type=_channel_axis,
        default=argparse.SUPPRESS,
        help="channel axis of colour images (default -1, channels last; 'none')",
    )
    group.add_argument("--gray", action="store_true", help="convert to gray (rgb2gray weights) before --filter/--bank")
    group.add_argument(
        "--allow-callables",
        action="store_true",
        help="let --pipeline specs name Python functions (imports their modules: trusted specs only)",
    )


def _add_codec_options(group):
    from .io import COMPRESSIONS

    group.add_argument(
        "--compression",
        choices=COMPRESSIONS["TIFF"],
        help="TIFF codec (default zlib, i.e. deflate, at level 1; zstd is faster and read by "
        "libtiff-based tools but not by ImageJ's own reader); for .zarr: none, zlib or zstd (default zstd 1)",
    )
    group.add_argument(
        "--compression-level", metavar="N", type=int, help="codec level: zlib 0-12 (.zarr 0-9), zstd 1-22, lzma 0-9"
    )
    group.add_argument(
        "--predictor",
        action="store_true",
        help="TIFF predictor (horizontal / floating point): smaller smooth images, slower",
    )


def _build_parser():
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="imgconv",
        description="Filter images with dilated convolutions (PyTorch Conv2d semantics).",
        epilog=_MAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"imgconv {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    batch = sub.add_parser(
        "batch",
        help="filter every image of a folder, glob or file list",
        description="Apply a pipeline to every image of SRC and write the results under DST "
        "(mirroring SRC), with DST/manifest.jsonl and a contact sheet.",
        epilog=_BATCH_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    batch.add_argument("src", metavar="SRC", nargs="+", help="a folder, a glob pattern (quote it) or image files")
    batch.add_argument("dst", metavar="DST", help="output folder (never the same as SRC)")
    _add_pipeline_options(batch)
    run = batch.add_argument_group("run")
    run.add_argument("--pattern", default="*", help="file-name pattern inside folders (default '*')")
    run.add_argument("--recursive", action="store_true", help="descend into sub-folders")
    run.add_argument("-j", "--workers", type=_positive_int, help="parallel workers (default: by core count)")
    run.add_argument(
        "--threads",
        type=_positive_int,
        help="total engine threads shared by the workers (default: imgconv.get_num_threads())",
    )
    run.add_argument(
        "--backend",
        choices=("threads", "processes", "dask"),
        help="threads (default), processes (user steps that hold the GIL), dask",
    )
    run.add_argument("--scheduler", metavar="ADDRESS", help="dask scheduler address (implies --backend dask)")
    run.add_argument(
        "--resume",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="skip files already done by the same pipeline (default: on)",
    )
    run.add_argument("--overwrite", action="store_true", help="recompute every file")
    run.add_argument(
        "--on-error",
        choices=("skip", "raise"),
        default="skip",
        help="skip (default): report bad files and go on; raise: stop at the first",
    )
    run.add_argument("--dry-run", action="store_true", help="list input -> output pairs; write nothing")
    run.add_argument(
        "--allow-empty", action="store_true", help="a SRC with no image files is a success (exit 0), not a usage error"
    )
    run.add_argument("-q", "--quiet", action="store_true", help="no progress, no summary (errors still shown)")
    run.add_argument(
        "--progress",
        choices=("auto", "bar", "lines", "none"),
        default="auto",
        help="auto (default): a bar on a terminal, a line every 5 s in a log; bar; lines; none",
    )
    out = batch.add_argument_group("output")
    out.add_argument(
        "--out-format",
        metavar="EXT",
        help="output extension (.tif, .png, .npy, ...; default: the input's when it can hold the result, else .tif)",
    )
    out.add_argument(
        "--dtype-policy",
        choices=("auto", "clip", "rescale", "float", "float16"),
        default="auto",
        help="how float results are stored (default auto: float32 in TIFF/.npy, rescaled "
        "to the integer range in PNG/JPEG/BMP; float16: half the bytes)",
    )
    _add_codec_options(out)
    out.add_argument("--preview", metavar="PNG", help="contact sheet path (default DST/preview.png)")
    out.add_argument("--no-preview", action="store_true", help="do not write a contact sheet")

    filt = sub.add_parser(
        "filter",
        help="filter one image file",
        description="Apply a pipeline to the image IN and write the result to OUT (format from OUT's extension).",
        epilog=_FILTER_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    filt.add_argument("input", metavar="IN")
    filt.add_argument("output", metavar="OUT")
    _add_pipeline_options(filt)
    filt.add_argument("--threads", type=_positive_int, help="engine threads")
    filt.add_argument(
        "--dtype-policy",
        choices=("auto", "clip", "rescale", "float", "float16"),
        default="auto",
        help="how a float result is stored (default auto)",
    )
    _add_codec_options(filt)
    filt.add_argument("--preview", metavar="PNG", help="also write a contact sheet of IN and its responses")
    filt.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")

    explain = sub.add_parser(
        "explain",
        help="dilated kernels, receptive fields, pipeline halos",
        description="Explain a dilated kernel (tap grid), a stack of layers (receptive "
        "field, holes) or a pipeline (steps and halo).",
        epilog=_EXPLAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    explain.add_argument("kernel_size", metavar="K", type=_positive_int, nargs="*", help="kernel size: K or KH KW")
    explain.add_argument(
        "--layers", metavar="LIST", help="comma-separated layers K[xK][dD][sS][pP|psame], e.g. 3d1,3d2,3d4"
    )
    explain.add_argument("--png", metavar="PATH", help="also draw the taps / footprint to a PNG (matplotlib)")
    explain.add_argument(
        "--image",
        metavar=("H", "W"),
        type=_positive_int,
        nargs=2,
        help="also say which algorithm (direct, separable, fft) the kernel takes on an H x W image, and why",
    )
    explain.add_argument("--channels", metavar="C", type=_positive_int, default=1, help="input channels (with --image)")
    explain.add_argument("--filters", metavar="O", type=_positive_int, default=1, help="filters (with --image)")
    explain.add_argument("--dtype", choices=("float32", "float64"), default="float32", help="with --image")
    _add_pipeline_options(explain)

    steps = sub.add_parser(
        "steps",
        help="list pipeline steps, or one step's parameters",
        description="List the pipeline steps, or the parameters and defaults of one.",
    )
    steps.add_argument("name", nargs="?", metavar="NAME")

    info = sub.add_parser(
        "info",
        help="version, compiled kernel path, OpenMP, threads; or what image files hold",
        description="Show how imgconv runs on this machine; with FILEs, each image's shape, "
        "dtype, channel names and metadata (from the header, no pixel decoded).",
    )
    info.add_argument("files", metavar="FILE", nargs="*")

    bench = sub.add_parser(
        "bench",
        help="a short speed run",
        description="Run benchmarks/bench_conv.py --quick when the source checkout is "
        "present, else time imgconv.conv2d on a few shapes (GFLOP/s).",
    )
    bench.add_argument("--builtin", action="store_true", help="the built-in timing even if benchmarks/ exists")
    bench.add_argument("--threads", type=_positive_int, help="engine threads")

    completion = sub.add_parser(
        "completion",
        help="print a shell completion script (bash or zsh)",
        description="Print a completion script for bash or zsh, made from this command line's own options.",
        epilog="install:\n  bash: imgconv completion bash > ~/.local/share/bash-completion/completions/imgconv\n"
        '  zsh:  imgconv completion zsh > "${fpath[1]}/_imgconv"   (or eval "$(imgconv completion zsh)" in ~/.zshrc)',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    completion.add_argument("shell", choices=("bash", "zsh"))
    return parser


def _completion_script(parser, shell):
    """A bash function completing subcommands, each one's options and choices, and file names otherwise.

    Generated from the parser, so it never falls behind the options.  zsh runs the same
    function through its ``bashcompinit``.
    """
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    top = sorted({s for a in parser._actions for s in a.option_strings})
    cases = []
    for name, command in sorted(sub.choices.items()):
        options = sorted({s for a in command._actions for s in a.option_strings})
        choices = [(a.option_strings, sorted(a.choices)) for a in command._actions if a.choices and a.option_strings]
        positional = [sorted(a.choices) for a in command._actions if a.choices and not a.option_strings]
        lines = [f"        {name})"]
        for strings, values in choices:
            lines.append(f'            case "$prev" in {"|".join(strings)}) words="{" ".join(values)}";; esac')
        if positional:
            lines.append(f'            [ -z "$words" ] && [ "$COMP_CWORD" -eq 2 ] && words="{" ".join(positional[0])}"')
        lines.append(f'            [ -z "$words" ] && [[ "$cur" == -* ]] && words="{" ".join(options)}";;')
        cases.append("\n".join(lines))
    script = f"""# {shell} completion for imgconv {__import__("imgconv").__version__} (imgconv completion {shell})
_imgconv() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}" words=""
    if [ "$COMP_CWORD" -eq 1 ]; then
        if [[ "$cur" == -* ]]; then words="{" ".join(top)}"; else words="{" ".join(sorted(sub.choices))}"; fi
    else
        case "${{COMP_WORDS[1]}}" in
{chr(10).join(cases)}
        esac
    fi
    if [ -n "$words" ]; then
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}}
"""
    if shell == "zsh":
        script += "autoload -U +X bashcompinit && bashcompinit\n"
    return script + "complete -o filenames -F _imgconv imgconv\n"


def _cmd_completion(args):
    print(_completion_script(_build_parser(), args.shell), end="")
    return 0


# --------------------------------------------------------------------------------------
# pipeline from the options
# --------------------------------------------------------------------------------------


def _parse_param(text):
    if "=" not in text:
        raise _UsageError(f"--param must be KEY=VALUE; got {text!r}")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key:
        raise _UsageError(f"--param must be KEY=VALUE; got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key, value


def _pair_or_int(values):
    return values[0] if len(values) == 1 else list(values)


def _pipeline_from_args(args):
    """The Pipeline the options describe (raises _UsageError)."""
    from .pipeline import Pipeline

    quick = {}
    for text in args.param:
        key, value = _parse_param(text)
        quick[key] = value
    if args.mode is not None:
        quick["mode"] = args.mode
    if "channel_axis" in vars(args):  # given, possibly as 'none'
        quick["channel_axis"] = args.channel_axis
    if args.stride is not None:
        if len(args.stride) > 2:
            raise _UsageError(f"--stride takes S or SH SW; got {len(args.stride)} values")
        quick["stride"] = _pair_or_int(args.stride)
    try:
        if args.pipeline is not None:
            if quick or args.dilation or args.gray:
                raise _UsageError(
                    "--param, --dilation, --stride, --mode, --channel-axis and --gray go with "
                    "--filter or --bank, not with --pipeline (put them in the spec)"
                )
            return Pipeline.from_spec(args.pipeline, allow_callables=args.allow_callables)
        steps = [{"step": "to_gray"}] if args.gray else []
        if args.filter is not None:
            if args.dilation:
                if len(args.dilation) > 2:
                    raise _UsageError(f"--dilation takes D or DH DW with --filter; got {len(args.dilation)} values")
                quick["dilation"] = _pair_or_int(args.dilation)
            steps.append({"step": args.filter, **quick})
            return Pipeline.from_spec(steps)
        if args.bank is not None:
            if args.dilation:
                quick["dilations"] = list(args.dilation)
            steps.append({"step": "bank", "name": args.bank, **quick})
            return Pipeline.from_spec(steps)
        if quick or args.dilation or args.gray:
            raise _UsageError(
                "--param, --dilation, --stride, --mode, --channel-axis and --gray need --filter or --bank"
            )
        return Pipeline.default()
    except (ValueError, TypeError, ImportError, OSError) as exc:
        raise _UsageError(str(exc) if not isinstance(exc, OSError) else f"cannot read the spec: {exc}") from None


# --------------------------------------------------------------------------------------
# subcommands
# --------------------------------------------------------------------------------------


def _print_failures(failed, limit=20):
    from ._output import shown

    for path, reason in failed[:limit]:
        print(shown(f"failed: {path}: {reason}"), file=sys.stderr)
    if len(failed) > limit:
        print(f"... and {len(failed) - limit} more failures (see the manifest)", file=sys.stderr)


def _cmd_batch(args):
    from . import batch
    from ._output import DestinationError, shown
    from .io import check_compression, output_codec_format

    src = args.src[0] if len(args.src) == 1 else args.src
    pipeline = _pipeline_from_args(args)
    backend = args.backend or ("dask" if args.scheduler else "threads")
    if args.scheduler and backend != "dask":
        raise _UsageError(f"--scheduler goes with --backend dask; got --backend {backend}")
    if args.preview and args.no_preview:
        raise _UsageError("--preview and --no-preview exclude each other")
    if args.preview and not args.preview.lower().endswith(".png"):
        raise _UsageError(f"--preview must name a .png file; got {args.preview!r}")
    if backend == "dask":
        try:
            import imgconv.dask  # noqa: F401
        except ImportError as exc:
            raise _UsageError(str(exc)) from None
    try:
        work = batch.plan(
            src,
            args.dst,
            pipeline,
            pattern=args.pattern,
            recursive=args.recursive,
            out_format=args.out_format,
            dtype_policy=args.dtype_policy,
        )
    except (ValueError, TypeError, ImportError) as exc:  # ImportError: --out-format .zarr without zarr
        raise _UsageError(str(exc)) from None
    try:
        check_compression(
            output_codec_format(args.out_format), args.compression, args.compression_level, args.predictor
        )
    except (ValueError, TypeError) as exc:
        raise _UsageError(str(exc)) from None
    if not work.tasks and not work.failed and not args.allow_empty:
        raise _UsageError(
            f"no image files found in {' '.join(shown(s) for s in args.src)}"
            + (f" matching --pattern {args.pattern!r}" if args.pattern != "*" else "")
        )

    if args.dry_run:
        print(pipeline.describe())
        for task in work.tasks:
            line = f"{shown(task.input)} -> {shown(task.output)}"
            if task.fallback:
                line += f" (or {shown(task.fallback)} if the result does not fit)"
            print(line)
        for path, reason in work.failed:
            print(f"{shown(path)} -> (refused: {reason})")
        print(f"{len(work.tasks)} file(s) to process, {len(work.failed)} refused; nothing written (--dry-run)")
        return 0

    preview = None if args.no_preview else (args.preview or True)
    try:
        report = batch.process(
            src,
            args.dst,
            pipeline,
            pattern=args.pattern,
            recursive=args.recursive,
            workers=args.workers,
            resume=args.resume,
            overwrite=args.overwrite,
            on_error=args.on_error,
            out_format=args.out_format,
            dtype_policy=args.dtype_policy,
            progress="none" if args.quiet else args.progress,
            backend=backend,
            num_threads=args.threads,
            client=args.scheduler,
            preview=preview,
            compression=args.compression,
            level=args.compression_level,
            predictor=args.predictor,
        )
    except DestinationError as exc:  # bad dst, busy dst, unsafe manifest or preview
        raise _UsageError(str(exc)) from None
    except Exception as exc:
        if type(exc).__name__ == "SchedulerError":  # imgconv.dask's: --scheduler unreachable
            raise _UsageError(f"--scheduler: {exc}") from None
        if args.on_error != "raise" and not isinstance(exc, batch.BatchError):
            raise
        if args.on_error != "raise":  # the manifest could not be written (a full disk)
            print(shown(f"imgconv: error: {exc}"), file=sys.stderr)
            return 1
        print(
            shown(f"imgconv: stopped at the first failure (--on-error raise): {type(exc).__name__}: {exc}"),
            file=sys.stderr,
        )
        return 1
    _print_failures(report.failed)
    for warning in report.warnings:
        print(shown(f"imgconv: warning: {warning}"), file=sys.stderr)
    if report.preview is not None and not args.quiet and args.preview:
        print(f"preview: {shown(report.preview)}")
    if not args.quiet:
        print(report.summary())
    return 0 if report.ok else 1


def _cmd_filter(args):
    from ._output import Destination, UnsafePathError, shown
    from .batch import _normalise_extension, _policy_for
    from .contact_sheet import draw_sheet, sheet_row
    from .io import check_compression, encoder, imread, output_codec_format

    pipeline = _pipeline_from_args(args)
    if not os.path.lexists(args.input):
        raise _UsageError(f"IN {shown(args.input)!r} does not exist")
    destination = Destination(protect=[args.input])
    try:
        ext = _normalise_extension(os.path.splitext(args.output)[1] or "none")
    except (ValueError, TypeError, ImportError) as exc:
        raise _UsageError(f"OUT: {exc}") from None
    codec = {}
    if (args.compression, args.compression_level, args.predictor) != (None, None, False):
        if ext not in (".tif", ".tiff", ".zarr"):
            raise _UsageError(
                f"--compression, --compression-level and --predictor go with a .tif or .zarr OUT; got {ext}"
            )
        try:
            check_compression(output_codec_format(ext), args.compression, args.compression_level, args.predictor)
        except (ValueError, TypeError) as exc:
            raise _UsageError(str(exc)) from None
        codec = {"compression": args.compression, "level": args.compression_level, "predictor": args.predictor}
    try:
        destination.check(args.output, what="OUT", folder=ext == ".zarr")
        if args.preview:
            if not args.preview.lower().endswith(".png"):
                raise ValueError(f"--preview must name a .png file; got {args.preview!r}")
            destination.check(args.preview, what="--preview")
            if os.path.realpath(args.preview) == os.path.realpath(args.output):
                raise ValueError("--preview must differ from OUT (it would replace the result)")
    except (ValueError, TypeError) as exc:
        raise _UsageError(str(exc)) from None
    start = time.perf_counter()
    try:
        image = imread(args.input)
        result = pipeline(image, num_threads=args.threads)
        destination.write(
            args.output,
            encoder(args.output, result, dtype_policy=_policy_for(ext, args.dtype_policy, result), **codec),
            what="OUT",
        )
    except UnsafePathError as exc:
        raise _UsageError(str(exc)) from None
    except (OSError, ValueError, TypeError) as exc:
        print(shown(f"imgconv: {args.input}: {type(exc).__name__}: {exc}"), file=sys.stderr)
        return 1
    if args.preview:
        try:
            names = pipeline.channel_names(1 if image.ndim == 2 else image.shape[2])
            pixels = draw_sheet([sheet_row(os.path.basename(args.input), image, result, names=names)])
            destination.write(args.preview, encoder(args.preview, pixels), what="--preview")
            if not args.quiet:
                print(f"preview: {shown(args.preview)}")
        except Exception as exc:  # a preview is a convenience: never fail the run for it
            print(
                f"imgconv: warning: could not write the preview {shown(args.preview)}: {type(exc).__name__}: {exc}",
                file=sys.stderr,
            )
    if not args.quiet:
        shape = "x".join(str(n) for n in result.shape)
        print(
            f"{shown(args.input)} -> {shown(args.output)} ({shape} {result.dtype}) in "
            f"{time.perf_counter() - start:.2f} s"
        )
    return 0


def _parse_layer(text, index):
    """'3d2s1p1' / '3x5d2' -> a layer dict for imgconv.receptive_field."""
    import re

    match = re.fullmatch(r"(\d+)(?:x(\d+))?((?:[dsp](?:\d+|same|valid))*)", text.strip())
    if not match:
        raise _UsageError(f"--layers item {index} must look like K[xK][dD][sS][pP]; got {text!r}")
    kh = int(match.group(1))
    kw = int(match.group(2)) if match.group(2) else kh
    layer = {"kernel_size": (kh, kw)}
    for key, value in re.findall(r"([dsp])(\d+|same|valid)", match.group(3)):
        name = {"d": "dilation", "s": "stride", "p": "padding"}[key]
        layer[name] = value if value in ("same", "valid") else int(value)
    return layer


def _cmd_explain(args):
    from . import explain as explain_module

    pipeline_given = any(getattr(args, k) is not None for k in ("pipeline", "filter", "bank"))
    if args.kernel_size or args.layers:
        if pipeline_given:
            raise _UsageError("explain takes a kernel size / --layers, or a pipeline, not both")
        if len(args.kernel_size) > 2:
            raise _UsageError(f"K takes K or KH KW; got {len(args.kernel_size)} values")
        kernel = _pair_or_int(args.kernel_size) if args.kernel_size else None
        dilation = _pair_or_int(args.dilation) if args.dilation else 1
        stride = _pair_or_int(args.stride) if args.stride else 1
        layers = None
        if args.layers:
            layers = [_parse_layer(t, i) for i, t in enumerate(args.layers.split(","))]
        if args.image is not None and kernel is None:
            raise _UsageError("--image takes a kernel size K (or KH KW), not --layers")
        try:
            text = explain_module.explain(kernel, dilation, layers=layers, stride=stride)
            if args.image is not None:  # checked before anything is printed
                text += "\n" + _plan_line(kernel, dilation, stride, args)
            print(text)
            if args.png:
                explain_module.explain_png(args.png, kernel, dilation, layers=layers, stride=stride)
                print(f"drawing: {args.png}")
        except ImportError as exc:
            print(f"imgconv: {exc}", file=sys.stderr)
            return 1
        except (ValueError, TypeError) as exc:
            raise _UsageError(str(exc)) from None
        return 0
    pipeline = _pipeline_from_args(args)
    print(pipeline.describe())
    for step in pipeline:
        if step.name == "bank":
            bank = step.prepared
            print(
                f"\nbank {step.params.get('name') or '(inline)'}: {len(bank)} filters of "
                f"{bank.kernel_size[0]}x{bank.kernel_size[1]}; widest:"
            )
            widest = max(bank.dilations, key=lambda d: d[0] * d[1])
            print(explain_module.explain(bank.kernel_size, widest))
    return 0


def _plan_line(kernel, dilation, stride, args):
    """What :func:`imgconv.choose_method` says of dense (full-rank) kernels on an ``--image`` (no pixels made)."""
    import numpy as np

    from . import _engine
    from ._shared.geometry import same_pads

    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    dilation = (dilation, dilation) if isinstance(dilation, int) else dilation
    stride = (stride, stride) if isinstance(stride, int) else stride
    h, w = args.image
    dtype = np.dtype(args.dtype)
    shape = (1, args.channels, h, w)
    # A zero-memory stand-in of the image: the planner reads its shape, and its values only to find NaN
    # or inf.  The weights are random, so of full rank (a Gaussian or a box would take the separable path).
    taps = args.filters * args.channels * kh * kw
    if taps > 1 << 24:
        raise _UsageError(f"--filters x --channels x K x K is {taps} weights; explain --image plans at most {1 << 24}")
    x = np.broadcast_to(np.zeros((), dtype), shape)
    weight = np.random.default_rng(0).standard_normal((args.filters, args.channels, kh, kw)).astype(dtype)
    pads = same_pads((kh, kw), dilation) if stride == (1, 1) else (0, 0, 0, 0)
    plan = _engine.choose_method(x, weight, pads=pads, stride=stride, dilation=dilation)
    costs = ", ".join(f"{path} {seconds * 1e3:.3g} ms" for path, seconds in plan.costs.items())
    where = (
        f"{args.filters} dense {kh}x{kw} filter{'s' if args.filters > 1 else ''} on 1x{args.channels}x{h}x{w} {dtype}"
    )
    return f"\nalgorithm for {where}: {plan.method} -- {plan.reason}" + (f"\nmodelled: {costs}" if costs else "")


def _cmd_steps(args):
    from .pipeline import _lookup, step_names, step_parameters

    try:
        if args.name:
            kind = _lookup(args.name)
            print(f"{args.name}: {kind.summary}")
            for key, default in step_parameters(args.name).items():
                try:
                    text = json.dumps(default)
                except TypeError:
                    text = repr(default)
                print(f"  {key} = {text}")
            return 0
    except (ValueError, TypeError) as exc:
        raise _UsageError(str(exc)) from None
    for name in step_names():
        print(f"{name:24s} {_lookup(name).summary}")
    return 0


def _print_file_info(path):
    from ._output import shown
    from .io import read_info

    try:
        info = read_info(path)
    except FileNotFoundError:
        raise _UsageError(f"FILE {shown(path)!r} does not exist") from None
    except (OSError, ValueError) as exc:
        print(shown(f"imgconv: {path}: {exc}"), file=sys.stderr)
        return 1
    shape = "x".join(str(n) for n in info["shape"])
    print(shown(f"{path}: {info['format']} {shape} {info['dtype']}"))
    names = info["channel_names"]
    if names is not None:
        print(f"  channels    : {', '.join(names)}")
    if info["resolution"] is not None:
        print(f"  resolution  : {info['resolution'][0]:g} x {info['resolution'][1]:g} pixels per inch")
    if info["icc_profile"] is not None:
        print(f"  ICC profile : {len(info['icc_profile'])} bytes")
    for key, value in info["metadata"].items():
        print(f"  {key:12s}: {json.dumps(value)}")
    return 0


def _cmd_info(args):
    import numpy

    from . import show_config
    from .io import SUPPORTED_EXTENSIONS
    from .pipeline import DEFAULT_PIPELINE

    if args.files:
        return max(_print_file_info(path) for path in args.files)

    show_config()
    optional = []
    for module in ("dask", "distributed", "matplotlib", "yaml"):
        try:
            __import__(module)
            optional.append(f"{module} yes")
        except ImportError:
            optional.append(f"{module} no")
    print(f"  python      : {platform.python_version()} ({platform.machine()}), numpy {numpy.__version__}")
    print(f"  optional    : {', '.join(optional)}")
    print(f"  formats     : {' '.join(SUPPORTED_EXTENSIONS)}")
    print(f"  default     : {json.dumps(DEFAULT_PIPELINE['steps'])}")
    return 0


def _bench_script():
    package = os.path.dirname(os.path.abspath(__file__))
    script = os.path.join(os.path.dirname(package), "benchmarks", "bench_conv.py")
    return script if os.path.isfile(script) else None


def _builtin_bench(threads=None):
    """Time imgconv.conv2d on a few small shapes; return rows (name, shape text, GFLOP/s)."""
    import numpy as np

    from . import conv2d

    rng = np.random.default_rng(0)
    shapes = [
        ("gray 3x3 d2", (1, 1, 512, 512), (8, 1, 3, 3), 2, 1),
        ("rgb 3x3 d1", (1, 3, 512, 512), (16, 3, 3, 3), 1, 1),
        ("depthwise 5x5 d4", (1, 32, 128, 128), (32, 1, 5, 5), 4, 32),
        ("cnn 3x3 d2", (4, 32, 64, 64), (32, 32, 3, 3), 2, 1),
    ]
    rows = []
    for name, xs, ws, dilation, groups in shapes:
        x = rng.standard_normal(xs, dtype=np.float32)
        w = rng.standard_normal(ws, dtype=np.float32)
        conv2d(x, w, padding="same", dilation=dilation, groups=groups, num_threads=threads)  # warm-up
        times = []
        for _ in range(5):
            start = time.perf_counter()
            y = conv2d(x, w, padding="same", dilation=dilation, groups=groups, num_threads=threads)
            times.append(time.perf_counter() - start)
        n, o, h, wd = y.shape
        flop = 2.0 * n * o * h * wd * ws[1] * ws[2] * ws[3]
        rows.append((name, f"{xs} * {ws}", flop / sorted(times)[len(times) // 2] / 1e9))
    return rows


def _cmd_bench(args):
    script = None if args.builtin else _bench_script()
    if script is not None:
        command = [sys.executable, script, "--quick"]
        if args.threads:
            command += ["--threads", str(args.threads)]
        print(f"running: {' '.join(command)}", flush=True)
        return subprocess.call(command)
    from ._threads import effective_num_threads

    print(
        f"imgconv.conv2d, float32, padding 'same', {effective_num_threads(args.threads)} thread(s), median of 5 runs:"
    )
    for name, shape, rate in _builtin_bench(args.threads):
        print(f"  {name:18s} {shape:40s} {rate:8.2f} GFLOP/s")
    return 0


_COMMANDS = {
    "batch": _cmd_batch,
    "filter": _cmd_filter,
    "explain": _cmd_explain,
    "steps": _cmd_steps,
    "info": _cmd_info,
    "bench": _cmd_bench,
    "completion": _cmd_completion,
}


def main(argv=None):
    """Run the ``imgconv`` command.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program name (default ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 success, 1 some files failed, 2 usage error, 130 interrupted.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return _COMMANDS[args.command](args)
    except _UsageError as exc:
        _error(str(exc))
        return 2
    except KeyboardInterrupt:
        print(
            "\nimgconv: interrupted; finished files are recorded in the manifest; rerun the same command "
            "to finish the rest",
            file=sys.stderr,
        )
        return 130
    except BrokenPipeError:  # e.g. `imgconv batch ... --dry-run | head`
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 1
    except Exception as exc:  # a bug or an environment failure: one line, not a traceback
        if os.environ.get("IMGCONV_TRACEBACK"):
            raise
        from ._output import shown

        print(
            shown(f"imgconv: error: {type(exc).__name__}: {exc} (set IMGCONV_TRACEBACK=1 for details)"), file=sys.stderr
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
