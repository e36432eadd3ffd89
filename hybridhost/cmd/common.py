"""What the command modules share: exit codes, the configuration named on the
command line, progress lines, and the help of a command group called without a
sub-command."""

from hybridhost import progress as progress_lines

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_RUNNING = 0, 1, 2, 3


def load_conf(args):
    """hybridhost.conf from the top-level ``--config-file`` and ``--config-dir``."""
    # Imported here: oslo.config costs ~0.1 s, and wait-for reads no configuration.
    from hybridhost import conf as hh_conf

    argv = []
    for path in args.config_file or []:
        argv += ["--config-file", path]
    if args.config_dir:
        argv += ["--config-dir", args.config_dir]
    return hh_conf.load(argv)


def progress():
    """``[  12.3s] message`` lines on stdout, timed from now."""
    return progress_lines.Progress(progress_lines.printer())


def show_help(parser):
    """The function of a command group called alone: print its help, exit 2."""

    def func(args):
        parser.print_help()
        return EXIT_USAGE

    return func
